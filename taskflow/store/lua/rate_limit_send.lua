-- rate_limit_send: what became of a granted token. 'sent': its request went out
-- `ago` ms before this call, so the token comes back `interval` + margin after
-- that (never earlier than already settled). 'unused': nothing was sent, the token
-- is free again at once, or, a reservation whose token is not back yet, when it
-- is back (rate_limit_acquire.lua).
-- KEYS[1]  openrouter:rate_limit_config
-- KEYS[2]  openrouter:rate_limit:pending
-- KEYS[3]  openrouter:rate_limit:sends
-- ARGV[1]  key prefix
-- ARGV[2]  'sent' or 'unused'
-- ARGV[3]  the token's id
-- ARGV[4]  ms between the send and this call (measured by the caller)
-- ARGV[5]  margin ms added to the interval
-- ARGV[6]  ms a grant's holder has to send (a pending token's score is the time
--          it may be sent from plus this)
-- Returns  1 when the token was known, 0 otherwise
local config, pending, sends = KEYS[1], KEYS[2], KEYS[3]
local action, id = ARGV[2], ARGV[3]
local ago_ms, margin_ms = math.max(0, tonumber(ARGV[4]) or 0), tonumber(ARGV[5])
local hold_ms = tonumber(ARGV[6])
local deadline = tonumber(redis.call('ZSCORE', pending, id) or '')
local known = redis.call('ZREM', pending, id)
if action == 'unused' then
  if deadline and deadline - hold_ms > NOW_MS then
    redis.call('ZADD', sends, deadline - hold_ms, id)
    return known
  end
  return known + redis.call('ZREM', sends, id)
end
local capacity, interval_ms = rate_limit(config)
if capacity == 0 then return known end
local window_ms = interval_ms + margin_ms
redis.call('ZADD', sends, 'GT', NOW_MS - ago_ms + window_ms, id)
keep_for(2 * window_ms, sends)
return 1
