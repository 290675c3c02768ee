-- breaker_record: the outcome of a call the breaker let through. CLOSED counts it in
-- the rolling window and opens when the thresholds are met (contract §7: enough
-- failures, enough volume, a high enough failure ratio); the probe's outcome closes
-- (success) or re-opens (failure) a HALF_OPEN breaker. Calls let through before the
-- breaker opened change nothing but the consecutive-failure count.
-- KEYS[1]  circuit_breaker:{service}
-- ARGV[1]  key prefix
-- ARGV[2]  'success' or 'failure'
-- ARGV[3]  '1' when this call was the probe
-- ARGV[4]  failure threshold      ARGV[5]  volume threshold     ARGV[6]  failure ratio
-- ARGV[7]  window bucket length, ms   ARGV[8]  buckets in the window
-- ARGV[9]  how long the breaker stays open, ms
-- Returns  the state after this call
local hash, success, probe = KEYS[1], ARGV[2] == 'success', ARGV[3] == '1'
local failure_threshold, volume_threshold = tonumber(ARGV[4]), tonumber(ARGV[5])
local ratio, bucket_ms, buckets, open_ms = tonumber(ARGV[6]), tonumber(ARGV[7]),
  tonumber(ARGV[8]), tonumber(ARGV[9])
local state = redis.call('HGET', hash, 'state') or 'CLOSED'

if success then
  redis.call('HSET', hash, 'consecutive_failures', 0, 'last_success_at', NOW_ISO)
else
  redis.call('HINCRBY', hash, 'consecutive_failures', 1)
  redis.call('HSET', hash, 'last_failure_at', NOW_ISO)
end

if state == 'HALF_OPEN' and probe then
  if success then
    clear_window(hash, buckets)
    redis.call('HSET', hash, 'state', 'CLOSED', 'probe_until_ms', 0, 'updated_at', NOW_ISO)
    return 'CLOSED'
  end
  open_breaker(hash, open_ms, '0')
  return 'OPEN'
end
if state ~= 'CLOSED' then return state end

local current = math.floor(NOW_MS / bucket_ms)
local field = 'w' .. (current % buckets)
local epoch, f, s = string.match(redis.call('HGET', hash, field) or '', '^(%d+):(%d+):(%d+)$')
if tonumber(epoch) ~= current then f, s = 0, 0 end
if success then s = tonumber(s) + 1 else f = tonumber(f) + 1 end
redis.call('HSET', hash, field, current .. ':' .. f .. ':' .. s)

local failures, successes = window_counts(hash, bucket_ms, buckets)
local volume = failures + successes
redis.call('HSET', hash, 'state', 'CLOSED', 'failure_count', failures,
  'success_count', successes, 'updated_at', NOW_ISO)
if not success and failures >= failure_threshold and volume >= volume_threshold
    and failures >= ratio * volume then
  open_breaker(hash, open_ms, '0')
  return 'OPEN'
end
return 'CLOSED'
