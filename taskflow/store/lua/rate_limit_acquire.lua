-- rate_limit_acquire: takes one token from the shared bucket (or, with ARGV[2] '0',
-- only reports on it). Capacity = `requests` of openrouter:rate_limit_config, and a
-- token spent comes back one `interval` later: a refill of requests/interval per
-- second that never lets more than `requests` calls start in any window of
-- `interval`, whatever the burst. The grants list holds the last `capacity` grant
-- times (server clock, ms, oldest first). No config, or requests <= 0: no limit.
-- KEYS[1]  openrouter:rate_limit_config (hash: requests, interval e.g. "10s")
-- KEYS[2]  openrouter:rate_limit:bucket (hash: tokens, capacity, refill_rate, last_refill)
-- KEYS[3]  openrouter:rate_limit:grants (list)
-- ARGV[1]  key prefix
-- ARGV[2]  '1' to take a token, '0' to look only
-- Returns  {granted 0|1, ms until a token is free, enabled 0|1, tokens left,
--           capacity, interval ms}
local config, bucket, grants = KEYS[1], KEYS[2], KEYS[3]
local take = ARGV[2] == '1'
local cfg = redis.call('HMGET', config, 'requests', 'interval')
local capacity = math.floor(tonumber(cfg[1]) or 0)

local UNIT_MS = { [''] = 1000, ms = 1, s = 1000, m = 60000, min = 60000, h = 3600000 }
local amount, unit = string.match(cfg[2] or '', '^%s*([%d%.]+)%s*(%a*)%s*$')
local interval_ms = math.floor((tonumber(amount) or 0) * (UNIT_MS[unit] or 0))
if capacity <= 0 or interval_ms <= 0 then
  return { take and 1 or 0, 0, 0, 0, 0, 0 }
end

-- Grants still inside the window: the list is sorted, so search for the first one.
local length = redis.call('LLEN', grants)
local lo, hi = 0, length
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  if tonumber(redis.call('LINDEX', grants, mid)) > NOW_MS - interval_ms then hi = mid
  else lo = mid + 1 end
end
local in_window = length - lo
local tokens, granted, wait_ms = capacity - in_window, 0, 0
if tokens <= 0 then
  -- The token of the oldest grant still counted comes back first.
  local oldest = tonumber(redis.call('LINDEX', grants, length - capacity))
  wait_ms = math.max(1, oldest + interval_ms - NOW_MS)
  tokens = 0
elseif take then
  redis.call('RPUSH', grants, NOW_MS)
  redis.call('LTRIM', grants, -capacity, -1)
  redis.call('PEXPIRE', grants, interval_ms * 2)
  granted, tokens = 1, tokens - 1
end
redis.call('HSET', bucket, 'tokens', tokens, 'capacity', capacity,
  'refill_rate', tostring(capacity * 1000 / interval_ms), 'last_refill', NOW_MS)
return { granted, wait_ms, 1, tokens, capacity, interval_ms }
