-- progress: a running task's handler reported how far it is (issue 17). Stored on
-- the task (progress, progress_message, progress_at) and appended to the events
-- stream as `task_progress`; not published on queue-updates (no count changes,
-- and the original clients do not know the kind). The worker throttles the calls.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  task id
-- ARGV[3]  lease token from claim
-- ARGV[4]  fraction done, 0..1
-- ARGV[5]  short message
-- Returns  'OK', 'LEASELOST' (not ACTIVE under this lease) or 'NOTFOUND'
local id, token, fraction, message = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local t = load_task(id)
if not t then return 'NOTFOUND' end
if t.state ~= 'ACTIVE' or t.lease_token ~= token then return 'LEASELOST' end
redis.call('HSET', task_key(id), 'progress', ARGV[4], 'progress_message', message,
  'progress_at', NOW_ISO)
local event = cjson.encode({ type = 'task_progress', task_id = id, task_type = t.task_type,
  fraction = fraction, message = message, timestamp = NOW_ISO })
append_events({ event }, nil, event)  -- counted, so the trim stays by events
return 'OK'
