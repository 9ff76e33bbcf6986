-- Settles one request with its real usage, in one atomic step: token buckets get back what was reserved and not
-- used (or pay the difference when the provider used more), budgets replace the reserved cost by the real one, and
-- every budget threshold crossed by this settlement is claimed (SET NX), so that exactly one replica alerts once per
-- period, scope and threshold. Same hash tag on every key as reserve.lua.
--
-- KEYS[1..nb]                   token buckets (strings, see reserve.lua)
-- KEYS[nb+1..nb+nd]             budgets
-- KEYS[nb+nd+(j-1)*nt+k]        alert marker of budget j at threshold k
-- ARGV[1] = nb, ARGV[2] = nd, ARGV[3] = nt, then nt threshold percents, then per bucket: capacity, refill per ms,
-- refund (negative = the request used more than it reserved); then per budget: cap, reserved, actual, ttl ms;
-- then, with the request's reservation record as the last key (see reserve.lua), the tokens and nano-USD the caller
-- believes it reserved: the record (or nothing, when it is absent) replaces that belief, so the refund is what the
-- store really holds for the request (a reserve whose reply was lost is released; a reservation that never
-- happened is not refunded), and the record becomes a "settled" tombstone for two minutes: settling twice (a retry)
-- counts once. With no record at all (the store lost it) the caller's belief is used
--
-- Returns the crossed thresholds as a flat list { budget index, percent, settled nano-USD, ... }.
local nb, nd, nt = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local buckets_at = 3 + nt
local budgets_at = buckets_at + nb * 3
local record_at = budgets_at + nd * 4
-- Corrections of the caller's belief by the reservation record: tokens added to each bucket refund, and the
-- reserved nano-USD of every budget.
-- With ARGV[record_at + 3] = 1 the call releases an orphan (a request whose process died): the record's reservation
-- is refunded and the record becomes "released", so that a settlement arriving after all counts the spend only.
local token_fix, reserved_nano = 0, nil
if ARGV[record_at + 1] then
  local record_key = KEYS[nb + nd + nd * nt + 1]
  local record = redis.call('GET', record_key)
  local tokens, nano = 0, 0
  local orphan = ARGV[record_at + 3] == '1'
  if orphan then
    if not record or record == 'released' or record == 'settled' then return {} end
    redis.call('SET', record_key, 'released', 'KEEPTTL')
  else
    -- Settled already: this is a retry whose first try did run.
    if record == 'settled' then return {} end
    -- A tombstone for as long as the stage may retry (about a minute), so a retry counts nothing twice.
    if record then redis.call('SET', record_key, 'settled', 'PX', 120000) end
    if record == 'released' then record = '0:0' end
  end
  -- No record at all: the store lost it (a restart without persistence): the caller's belief is all there is.
  if record then
    local sep = string.find(record, ':', 1, true)
    tokens, nano = tonumber(string.sub(record, 1, sep - 1)), tonumber(string.sub(record, sep + 1))
    token_fix = tokens - tonumber(ARGV[record_at + 1])
    reserved_nano = nano
  end
end

local states = {}
if nb > 0 then states = redis.call('MGET', unpack(KEYS, 1, nb)) end
for i = 1, nb do
  local a = buckets_at + (i - 1) * 3
  local capacity, rate, refund = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]) + token_fix
  if refund ~= 0 then
    local level = capacity
    local state = states[i]
    if state then
      local sep = string.find(state, ':', 1, true)
      level = math.min(capacity, tonumber(string.sub(state, 1, sep - 1)) + math.max(0, now - tonumber(string.sub(state, sep + 1))) * rate)
    end
    level = math.min(capacity, level + refund)
    redis.call('SET', KEYS[i], level .. ':' .. now, 'PX', math.ceil((capacity - level) / rate) + 1000)
  end
end

local crossed = {}
for j = 1, nd do
  local a = budgets_at + (j - 1) * 4
  local cap, reserved, actual, ttl = tonumber(ARGV[a + 1]), reserved_nano or tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local key = KEYS[nb + j]
  local state = redis.call('HMGET', key, 's', 'u')
  local before = tonumber(state[1] or '0')
  local after = before
  if reserved ~= 0 or actual ~= 0 then
    if actual > 0 then after = redis.call('HINCRBY', key, 's', actual) end
    local used = redis.call('HINCRBY', key, 'u', actual - reserved)
    -- A reservation lost with a Redis restart must not leave `used` below what is settled.
    if used < after then redis.call('HSET', key, 'u', after) end
    -- The reservation gave the counter its TTL; only a counter that was gone (Redis lost it) needs one again.
    if not state[2] then redis.call('PEXPIRE', key, ttl) end
  end
  for k = 1, nt do
    local mark = cap * tonumber(ARGV[3 + k]) / 100
    if before < mark and after >= mark then
      if redis.call('SET', KEYS[nb + nd + (j - 1) * nt + k], '1', 'NX', 'PX', ttl) then
        crossed[#crossed + 1] = j
        crossed[#crossed + 1] = tonumber(ARGV[3 + k])
        crossed[#crossed + 1] = after
      end
    end
  end
end
return crossed
