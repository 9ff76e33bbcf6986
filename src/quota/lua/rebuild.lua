-- Brings the budget counters of one org up to what the usage ledger holds, and marks the org as in step again, in
-- one atomic step: a reserve or settle of a concurrent request lands wholly before or wholly after it.
--
-- Per counter: settled s := max(s, ledger); used u := u + (new s - old s).
--   After a loss, s holds only what settled since and the ledger what it has committed (which may include some of
--   the same requests): taking the larger counts nothing twice, and a rebuild that runs again, or on a store that
--   lost nothing, changes nothing. u - s, the reservations of requests in flight, is kept, so they neither vanish
--   nor count twice when those requests settle. (The trade-offs are in src/quota/rebuild.ts.)
-- Same hash tag on every key as reserve.lua.
--
-- KEYS[1..n]  budgets (see reserve.lua); KEYS[n+1] the org's sync marker (no TTL)
-- ARGV[1] = n, then per budget: ledger nano-USD (integer string), ttl ms; then the marker's value
--
-- Returns { settled before, settled after, ... } per budget.
local n = tonumber(ARGV[1])
local out = {}
for j = 1, n do
  local key = KEYS[j]
  local ledger_text, ttl = ARGV[2 * j], tonumber(ARGV[2 * j + 1])
  local ledger = tonumber(ledger_text)
  local settled = tonumber(redis.call('HGET', key, 's') or '0')
  local after = settled
  if ledger > settled then
    after = ledger
    redis.call('HSET', key, 's', ledger_text)
    redis.call('HINCRBY', key, 'u', ledger - settled)
    redis.call('PEXPIRE', key, ttl)
  end
  out[2 * j - 1] = settled
  out[2 * j] = after
end
redis.call('SET', KEYS[n + 1], ARGV[2 * n + 2])
return out
