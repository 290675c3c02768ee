-- schedule_fire: one firing of a recurring schedule, in one step. The caller names
-- the fire time it saw as due; the firing happens only if the schedule still has
-- that next fire time, so a firing is keyed by (schedule id, fire time) and any
-- number of scheduler replicas create one task for it (docs/schedules.md).
-- KEYS[1]  schedule:{id} (routes the call in Redis Cluster)
-- ARGV[1]  key prefix
-- ARGV[2]  schedule id
-- ARGV[3]  expected next_fire_ms ('' = a manual trigger: no check, no advance)
-- ARGV[4]  the next fire ms after this firing ('' = keep)
-- ARGV[5]  1 = create a task, 0 = advance only (a skipped misfire)
-- ARGV[6]  the new task's id
-- Returns  { outcome, task_id }: outcome 'fired', 'skipped' (misfire or overlap),
--          'stale' (another replica fired it, or it was paused or changed)
local id, expected, next_ms = ARGV[2], ARGV[3], ARGV[4]
local want_task, task_id = ARGV[5] == '1', ARGV[6]
local h = schedule_key(id)
local s = redis.call('HMGET', h, 'next_fire_ms', 'paused', 'overlap', 'last_task_id',
  'task_type', 'content', 'metadata', 'max_retries', 'priority', 'retention_s', 'queue')
if not s[5] then fail_with('NOTFOUND', 'schedule ' .. id .. ' does not exist') end
local manual = expected == ''
if not manual and (s[2] == '1' or s[1] ~= expected) then return { 'stale', '' } end
local fired = false
if want_task then
  local busy = false
  if s[3] == 'skip' and not manual and s[4] and s[4] ~= '' then
    local last_state = redis.call('HGET', task_key(s[4]), 'state')
    busy = last_state == 'PENDING' or last_state == 'ACTIVE' or last_state == 'SCHEDULED'
      or last_state == 'FAILED'
  end
  if not busy then
    local events = {}
    -- A task goes to its schedule's named queue ('' = default); a remote worker's
    -- type to the queue registered now (workers:remote_task_types, mirrors
    -- keys.py), else the one stored.
    local queue = ''
    if s[11] and s[11] ~= '' then
      queue = redis.call('HGET', key('workers:remote_task_types'), s[5]) or s[11]
    end
    create_task(task_id, s[5], s[6], s[7], s[8], s[9], '', '', nil, queue, 0,
      tonumber(s[10]) or 0, events)
    redis.call('HSET', task_key(task_id), 'schedule_id', id, 'schedule_fire_ms',
      manual and NOW_MS or expected)
    push_created()
    finish(events)
    fired = true
  end
end
local fields = { 'HSET', h, 'updated_at', NOW_ISO }
if fired then
  for _, v in ipairs({ 'last_task_id', task_id, 'last_fire_ms', NOW_MS }) do fields[#fields + 1] = v end
  redis.call('HINCRBY', h, 'fire_count', 1)
end
if not manual then
  fields[#fields + 1] = 'last_due_ms'
  fields[#fields + 1] = expected
  if next_ms ~= '' then
    fields[#fields + 1] = 'next_fire_ms'
    fields[#fields + 1] = next_ms
    redis.call('ZADD', SCHEDULES_DUE, next_ms, id)
  end
end
redis.call(unpack(fields))
return { fired and 'fired' or 'skipped', fired and task_id or '' }
