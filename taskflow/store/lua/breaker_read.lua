-- breaker_read: the breakers as they stand now (read only). An OPEN breaker whose
-- time is up reads as HALF_OPEN: the next call will be its probe.
-- KEYS[1..n]  circuit_breaker:{service} for each service asked about
-- ARGV[1]     key prefix
-- ARGV[2]     window bucket length, ms     ARGV[3]  buckets in the window
-- Returns     per key {state, failures, successes, opened_at, ms until a probe may go
--             (-1: forced open), forced, consecutive_failures, exists}
local bucket_ms, buckets = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, hash in ipairs(KEYS) do
  local f = redis.call('HMGET', hash, 'state', 'opened_at', 'open_until_ms',
    'probe_until_ms', 'forced', 'consecutive_failures')
  local state, wait = f[1] or 'CLOSED', 0
  local failures, successes = window_counts(hash, bucket_ms, buckets)
  if f[5] == '1' and state == 'OPEN' then
    wait = -1
  elseif state == 'OPEN' then
    wait = math.max(0, (tonumber(f[3]) or 0) - NOW_MS)
    if wait == 0 then state = 'HALF_OPEN' end
  elseif state == 'HALF_OPEN' then
    wait = math.max(0, (tonumber(f[4]) or 0) - NOW_MS)
  end
  out[#out + 1] = { state, failures, successes, f[2] or '', wait, f[5] or '0',
    tonumber(f[6]) or 0, f[1] and 1 or 0 }
end
return out
