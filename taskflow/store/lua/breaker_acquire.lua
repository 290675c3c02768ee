-- breaker_acquire: may a call to the service go now? CLOSED lets it through; OPEN
-- rejects until open_until_ms, then turns HALF_OPEN and lets exactly this one caller
-- through as the probe (cluster-wide); HALF_OPEN rejects while the probe is in
-- flight (a probe that never reports is replaced once probe_until_ms passes).
-- KEYS[1]  circuit_breaker:{service}
-- KEYS[2]  circuit_breaker:services (set of service names)
-- ARGV[1]  key prefix
-- ARGV[2]  service name
-- ARGV[3]  how long a probe holds the half-open breaker, in ms
-- Returns  {verdict 'allow' | 'probe' | 'reject', ms until worth asking again (-1:
--          opened by an operator, no probe until a reset)}
local hash, probe_ms = KEYS[1], tonumber(ARGV[3])
local fields = redis.call('HMGET', hash, 'state', 'open_until_ms', 'probe_until_ms', 'forced')
local state = fields[1]
if not state then
  redis.call('HSET', hash, 'state', 'CLOSED', 'updated_at', NOW_ISO)
  redis.call('SADD', KEYS[2], ARGV[2])
  return { 'allow', 0 }
end
if state == 'CLOSED' then return { 'allow', 0 } end
if fields[4] == '1' then return { 'reject', -1 } end
local wait_until = tonumber(fields[2]) or 0
if state == 'HALF_OPEN' then wait_until = tonumber(fields[3]) or 0 end
if NOW_MS < wait_until then return { 'reject', wait_until - NOW_MS } end
redis.call('HSET', hash, 'state', 'HALF_OPEN', 'probe_until_ms', NOW_MS + probe_ms,
  'updated_at', NOW_ISO)
return { 'probe', 0 }
