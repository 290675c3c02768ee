-- complete: ACTIVE -> COMPLETED with a result, only for the lease holder. Takes a
-- batch, so a worker finishing many tasks at once pays one round trip.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2..] triples of task_id, lease token from claim, result text
-- Returns  one code per task: 'OK', 'LEASELOST' (the worker no longer holds it:
--          fencing) or 'NOTFOUND' (deleted meanwhile); a malformed task: error CORRUPT
local codes, events = {}, {}
complete_tasks(ARGV, 2, #ARGV, codes, events)
finish(events)
return codes
