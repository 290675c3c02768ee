-- log_append: log lines a task's handler wrote (issue 17), appended in one batch to
-- the task's list task:{id}:logs, each with the next sequence number (1, 2, ...),
-- keeping the newest ARGV[3] lines. Lines of a task that no longer exists are
-- dropped, so no list outlives its task (_remove_task.lua deletes it with it).
-- One `task_logs` event per batch goes to the events stream (not the channel: no
-- counts change) so task watches can send the new lines live.
-- KEYS[1]  the task's log list (task:{id}:logs)
-- ARGV[1]  key prefix
-- ARGV[2]  task id
-- ARGV[3]  most lines kept
-- ARGV[4..] per line: time (ms since the epoch; 0 = now), level, logger, message
-- Returns  the last line's sequence number, or 'NOTFOUND'
local id, keep = ARGV[2], tonumber(ARGV[3])
local task_type = redis.call('HGET', task_key(id), 'task_type')
if not task_type then return 'NOTFOUND' end
local list = logs_key(id)
local last = 0
local tail = redis.call('LINDEX', list, -1)
if tail then last = tonumber(cjson.decode(tail).seq) end
local first = last + 1
local lines = {}
for i = 4, #ARGV - 3, 4 do
  last = last + 1
  local at = tonumber(ARGV[i])
  if not at or at <= 0 then at = NOW_MS end
  lines[#lines + 1] = cjson.encode({ seq = last, t = at, l = ARGV[i + 1], g = ARGV[i + 2],
    m = ARGV[i + 3] })
end
if #lines == 0 then return last end
for i = 1, #lines, 1000 do
  redis.call('RPUSH', list, unpack(lines, i, math.min(i + 999, #lines)))
end
redis.call('LTRIM', list, -keep, -1)
local event = cjson.encode({ type = 'task_logs', task_id = id, task_type = task_type,
  first_seq = first, last_seq = last, timestamp = NOW_ISO })
append_events({ event }, nil, event)  -- counted, so the trim stays by events
return last
