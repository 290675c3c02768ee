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
-- ARGV[6]  ms the caller may wait: with no token free, the sent token that comes
--          back first, if within this, is granted to it now as a reservation (to
--          be sent once it is back, not before), so waiters never race for it
-- Returns  {granted 0|1, ms until a token may be free (granted: until the
--           reserved one may be sent, 0 at once), enabled 0|1, tokens left,
--           capacity, interval ms}
local config, bucket, pending, sends = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local take, id = ARGV[2] == '1', ARGV[3]
local hold_ms, margin_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
local reserve_ms = tonumber(ARGV[6]) or 0
local capacity, interval_ms = rate_limit(config)
if capacity == 0 then
  return { take and 1 or 0, 0, 0, 0, 0, 0 }
end
local window_ms = interval_ms + margin_ms
settle(pending, sends, window_ms)
local tokens = capacity - redis.call('ZCARD', sends) - redis.call('ZCARD', pending)
local granted, wait_ms = 0, 0
-- With no token free, the sent token whose return frees one: the first to come
-- back, or a later one while more tokens are out than the capacity (it was
-- lowered): the `-tokens` that come back before it only bring the count down.
local next_free = redis.call('ZRANGE', sends, math.max(0, -tokens), math.max(0, -tokens),
  'WITHSCORES')
local back = tonumber(next_free[2] or '')
if tokens <= 0 and take and back and back - NOW_MS <= reserve_ms then
  -- It becomes this caller's: pending from when it is back (its score: that time
  -- plus the hold), so its next send is still one window after its last. A
  -- reservation given back unused returns to the sends set with its old time
  -- (rate_limit_send.lua).
  redis.call('ZREM', sends, next_free[1])
  redis.call('ZADD', pending, back + hold_ms, id)
  keep_for(2 * (window_ms + hold_ms) + reserve_ms, pending, sends)
  granted, wait_ms, tokens = 1, math.max(0, back - NOW_MS), 0
elseif tokens <= 0 then
  -- The soonest a token may come back: that sent one, or a pending one sent at
  -- once (its grant is its deadline less the hold). Waiters that find it still
  -- out ask again.
  local soonest = back or math.huge
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
