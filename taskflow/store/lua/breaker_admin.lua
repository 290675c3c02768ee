-- breaker_admin: an operator's reset (-> CLOSED, counts cleared) or open (-> OPEN
-- until the next reset: no probe goes through meanwhile).
-- KEYS[1]  circuit_breaker:{service}
-- KEYS[2]  circuit_breaker:services (set of service names)
-- ARGV[1]  key prefix
-- ARGV[2]  'reset' or 'open'
-- ARGV[3]  service name
-- ARGV[4]  buckets in the window
-- Returns  the new state
local hash = KEYS[1]
redis.call('SADD', KEYS[2], ARGV[3])
if ARGV[2] == 'open' then
  open_breaker(hash, 0, '1')
  return 'OPEN'
end
clear_window(hash, tonumber(ARGV[4]))
redis.call('HSET', hash, 'state', 'CLOSED', 'forced', '0', 'probe_until_ms', 0,
  'open_until_ms', 0, 'consecutive_failures', 0, 'updated_at', NOW_ISO)
return 'CLOSED'
