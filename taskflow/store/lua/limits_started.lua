-- limits_started: tasks of rate-limited types started `ago` ms before this call,
-- so each one's token comes back one interval + margin after that start (never
-- earlier than already settled: ZADD GT). Counting from the start, not the
-- grant, keeps the limit at the handler however late a worker starts a task it
-- claimed (within the type's start_within_ms; later, it parks the task instead).
-- KEYS[1]  limits:types
-- ARGV[1]  key prefix
-- ARGV[2..] task_id, lease token, ms between the start and this call; repeated
-- Returns  how many tokens were found (not those of tasks another worker holds now)
local found = 0
for i = 2, #ARGV, 3 do
  local id, lease, ago = ARGV[i], ARGV[i + 1], math.max(0, tonumber(ARGV[i + 2]) or 0)
  local fields = redis.call('HMGET', task_key(id), 'task_type', 'rate_token', 'lease_token')
  local cfg = fields[1] and limits_of(fields[1])
  -- Its lease, or none: a short task may be saved (complete clears the lease)
  -- before its start is reported. ZADD GT keeps the latest start reported.
  local holder = fields[3] or ''
  if cfg and (cfg.capacity or 0) > 0 and fields[2] and (holder == lease or holder == '') then
    local pending = limit_key('rate_pending', fields[1])
    local sends = limit_key('rate_sends', fields[1])
    redis.call('ZREM', pending, fields[2])
    redis.call('ZADD', sends, 'GT', NOW_MS - ago + rate_window(cfg), fields[2])
    redis.call('PEXPIRE', sends, 2 * rate_window(cfg))
    found = found + 1
  end
end
return found
