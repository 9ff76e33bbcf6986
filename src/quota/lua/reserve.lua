-- Checks and reserves every quota scope of one request in one atomic step: token buckets (requests and tokens per
-- minute) and spend budgets (per day, per month). All or nothing: a request denied by one scope takes nothing from
-- the others, and concurrent requests can never overshoot a limit between a check and its reservation.
--
-- Every key of one call carries the same hash tag, {tg:<org>}, so the script runs unchanged on Redis Cluster.
-- The clock is Redis' own (TIME), so replicas with skewed clocks share one notion of refill.
--
-- KEYS[1..nb]        token buckets: a string "<tokens left>:<ms of that level>" (the level may go below 0 after
--                    settling a debt). A string rather than a hash: all of them are read by one MGET and each is
--                    written with its TTL by one SET PX, which halves this script's Redis calls (each costs ~1-2 µs of
--                    Redis CPU, which at Tollgate's request rates is most of Redis' work).

-- KEYS[nb+1..nb+nd]  budgets: hash { u = settled + reserved nano-USD, s = settled nano-USD }
-- KEYS[nb+nd+1]      the org's sync marker (see src/quota/rebuild.ts): read only, so a lost store is noticed
--                    by the first request after the loss, without a round trip of its own
-- ARGV[1] = nb, ARGV[2] = nd, then per bucket: capacity, refill per ms, cost; then per budget: cap, cost, ttl ms;
-- then `gate`: 1 when budgets can be rebuilt from a ledger, so none is decided on counters the store lost;
-- then, optionally, the word "lease", a divisor d, a multiple m and per bucket then per budget the extra amount
-- wanted for a lease (see src/quota/leasing-engine.ts): when every scope's headroom after this request, divided by
-- d, holds at least m times the request's cost, each scope gives min(wanted, headroom / d) more, taken with the
-- request, and no reservation record is written (the lease holder settles locally); otherwise the request is
-- reserved exactly as without a lease;
-- then, optionally, the TTL (ms) of the request's reservation record KEYS[nb+nd+2] (see reservationKey in
-- src/quota/plan.ts), the tokens and the nano-USD reserved: when admitted the record is set to
-- "<tokens>:<nano-USD>", for settle.lua to refund exactly that
--
-- Returns { status, index, retry_ms, now_ms, synced, level_1 .. level_nb } (levels floored, after the reservation;
-- synced 0 when the marker is missing), and when admitted with a lease section also
-- { leased (1/0), extra bucket 1 .. nb, extra budget 1 .. nd }:
--   status 0: admitted
--   status 1: bucket `index` is short (the one to wait for longest); retry_ms = -1 if the cost exceeds its capacity
--   status 2: budget `index` would exceed its cap; retry_ms holds what it has used
--   status 3: the marker is missing and the gate is on: nothing reserved, rebuild the counters and call again
local nb = tonumber(ARGV[1])
local nd = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local budgets_at = 2 + nb * 3
local synced = redis.call('EXISTS', KEYS[nb + nd + 1])
if synced == 0 and nd > 0 and ARGV[budgets_at + nd * 3 + 1] == '1' then
  return { 3, 0, 0, now, 0 }
end

-- A budget counter read as missing gets its TTL when first written; an existing one already has it.
local fresh = {}
local used_of = {}
for j = 1, nd do
  local a = budgets_at + (j - 1) * 3
  local cap, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local value = redis.call('HGET', KEYS[nb + j], 'u')
  fresh[j] = not value
  local used = tonumber(value or '0')
  if used + cost > cap then
    return { 2, j, used, now, synced }
  end
  used_of[j] = used
end

local states = {}
if nb > 0 then states = redis.call('MGET', unpack(KEYS, 1, nb)) end
local levels = {}
local short, wait = 0, 0
for i = 1, nb do
  local a = 2 + (i - 1) * 3
  local capacity, rate, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local level = capacity
  local state = states[i]
  if state then
    local sep = string.find(state, ':', 1, true)
    level = math.min(capacity, tonumber(string.sub(state, 1, sep - 1)) + math.max(0, now - tonumber(string.sub(state, sep + 1))) * rate)
  end
  levels[i] = level
  if level < cost then
    local w = -1
    if cost <= capacity then w = math.ceil((cost - level) / rate) end
    if short == 0 or (wait ~= -1 and (w == -1 or w > wait)) then
      short, wait = i, w
    end
  end
end

if short > 0 then
  local out = { 1, short, wait, now, synced }
  for i = 1, nb do out[5 + i] = math.floor(levels[i]) end
  return out
end

-- The lease section, when present: every scope must have room for a worthwhile lease, or none is taken.
local record_at = budgets_at + nd * 3 + 2
local extra = {}
local leased = 0
if ARGV[record_at] == 'lease' then
  local divisor, multiple = tonumber(ARGV[record_at + 1]), tonumber(ARGV[record_at + 2])
  local wants_at = record_at + 2
  leased = 1
  for i = 1, nb + nd do
    local cost, room
    if i <= nb then
      cost = tonumber(ARGV[2 + (i - 1) * 3 + 3])
      room = levels[i] - cost
    else
      local a = budgets_at + (i - nb - 1) * 3
      cost = tonumber(ARGV[a + 2])
      room = tonumber(ARGV[a + 1]) - used_of[i - nb] - cost
    end
    extra[i] = math.floor(math.min(tonumber(ARGV[wants_at + i]), room / divisor))
    if extra[i] < cost * multiple or extra[i] <= 0 then leased = 0 end
  end
  record_at = wants_at + nb + nd + 1
end
if leased == 0 then
  for i = 1, nb + nd do extra[i] = 0 end
end

local out = { 0, 0, 0, now, synced }
for i = 1, nb do
  local a = 2 + (i - 1) * 3
  local capacity, rate, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]) + extra[i]
  local level = levels[i] - cost
  -- Once full again the bucket equals a missing key, so it may go.
  redis.call('SET', KEYS[i], level .. ':' .. now, 'PX', math.ceil((capacity - level) / rate) + 1000)
  out[5 + i] = math.floor(level)
end
for j = 1, nd do
  local a = budgets_at + (j - 1) * 3
  local cost, ttl = tonumber(ARGV[a + 2]) + extra[nb + j], tonumber(ARGV[a + 3])
  if cost > 0 then
    redis.call('HINCRBY', KEYS[nb + j], 'u', cost)
    if fresh[j] then redis.call('PEXPIRE', KEYS[nb + j], ttl) end
  end
end
if leased == 1 then
  out[#out + 1] = 1
  for i = 1, nb + nd do out[#out + 1] = extra[i] end
  return out
end
local record_ttl = ARGV[record_at]
if record_ttl and KEYS[nb + nd + 2] then
  redis.call('SET', KEYS[nb + nd + 2], ARGV[record_at + 1] .. ':' .. ARGV[record_at + 2], 'PX', tonumber(record_ttl))
end
if ARGV[budgets_at + nd * 3 + 2] == 'lease' then out[#out + 1] = 0 end
return out
