-- Shared by the breaker_*.lua scripts (loaded after the prelude by taskflow/store/breaker.py).
-- A breaker is one hash, circuit_breaker:{service}:
--   state               CLOSED | OPEN | HALF_OPEN
--   opened_at           ISO time it last opened; opened_at_ms the same in ms
--   open_until_ms       when an OPEN breaker lets a probe through
--   probe_until_ms      HALF_OPEN: the probe in flight holds the breaker until then
--   forced              '1' when opened by an operator: no probe until a reset
--   failure_count, success_count   the rolling window's counts as of the last write
--   consecutive_failures, last_failure_at, last_success_at, updated_at
--   w<slot>             rolling window bucket "epoch:failures:successes"

-- Sums the buckets of the window that ends now; `bucket_ms` * `buckets` is its length.
local function window_counts(hash, bucket_ms, buckets)
  local current = math.floor(NOW_MS / bucket_ms)
  local failures, successes = 0, 0
  for slot = 0, buckets - 1 do
    local raw = redis.call('HGET', hash, 'w' .. slot)
    if raw then
      local epoch, f, s = string.match(raw, '^(%d+):(%d+):(%d+)$')
      if epoch and current - tonumber(epoch) < buckets then
        failures = failures + tonumber(f)
        successes = successes + tonumber(s)
      end
    end
  end
  return failures, successes
end

local function clear_window(hash, buckets)
  local fields = {}
  for slot = 0, buckets - 1 do fields[#fields + 1] = 'w' .. slot end
  redis.call('HDEL', hash, unpack(fields))
  redis.call('HSET', hash, 'failure_count', 0, 'success_count', 0)
end

local function open_breaker(hash, open_ms, forced)
  redis.call('HSET', hash, 'state', 'OPEN', 'opened_at', NOW_ISO, 'opened_at_ms', NOW_MS,
    'open_until_ms', NOW_MS + open_ms, 'probe_until_ms', 0, 'forced', forced,
    'updated_at', NOW_ISO)
end
