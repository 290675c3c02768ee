-- rate_limit_acquire: grants one token of the shared bucket (or, with ARGV[2] '0',
-- only reports on it). Capacity = `requests` of openrouter:rate_limit_config; a
-- token is out from its grant until `interval` + margin after its request was sent
-- (rate_limit_send.lua), so no window of one interval sees more than `requests`
-- requests arrive at the provider. No config, or requests <= 0: no limit.
-- KEYS[1]  openrouter:rate_limit_config (hash: requests, interval e.g. "10s")
-- KEYS[2]  openrouter:rate_limit:bucket (hash: tokens, capacity, refill_rate, last_refill)
-- KEYS[3]  openrouter:rate_limit:pending (sorted set: token id -> send deadline ms)
-- KEYS[4]  openrouter:rate_limit:sends (sorted set: token id -> comes back at ms)
-- ARGV[1]  key prefix
-- ARGV[2]  '1' to take a token, '0' to look only
-- ARGV[3]  the new token's id (unique)
-- ARGV[4]  ms after the grant by which the caller sends or gives the token up
-- ARGV[5]  margin ms added to the interval (arrival jitter at the provider)
-- Returns  {granted 0|1, ms until a token may be free, enabled 0|1, tokens left,
--           capacity, interval ms}
local config, bucket, pending, sends = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local take, id = ARGV[2] == '1', ARGV[3]
local hold_ms, margin_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
local capacity, interval_ms = rate_limit(config)
if capacity == 0 then
  return { take and 1 or 0, 0, 0, 0, 0, 0 }
end
local window_ms = interval_ms + margin_ms
settle(pending, sends, window_ms)
local tokens = capacity - redis.call('ZCARD', sends) - redis.call('ZCARD', pending)
local granted, wait_ms = 0, 0
if tokens <= 0 then
  -- The soonest a token may come back: the first sent one, or a pending one sent
  -- at once (its grant is its deadline less the hold). Waiters that find it still
  -- out ask again.
  local soonest = math.huge
  local first_sent = redis.call('ZRANGE', sends, 0, 0, 'WITHSCORES')
  if first_sent[2] then soonest = tonumber(first_sent[2]) end
  local first_pending = redis.call('ZRANGE', pending, 0, 0, 'WITHSCORES')
  if first_pending[2] then
    soonest = math.min(soonest, tonumber(first_pending[2]) - hold_ms + window_ms)
  end
  wait_ms = math.max(1, soonest - NOW_MS)
  tokens = 0
elseif take then
  redis.call('ZADD', pending, NOW_MS + hold_ms, id)
  keep_for(2 * (window_ms + hold_ms), pending, sends)
  granted, tokens = 1, tokens - 1
end
redis.call('HSET', bucket, 'tokens', tokens, 'capacity', capacity,
  'refill_rate', tostring(capacity * 1000 / interval_ms), 'last_refill', NOW_MS)
return { granted, wait_ms, 1, tokens, capacity, interval_ms }
