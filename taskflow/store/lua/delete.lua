-- delete: remove a task in any state with everything that points at it
-- (remove_task, lua/_remove_task.lua).
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  task_id
-- Returns  the state the task was in as reads showed it (a due SCHEDULED task was
--          PENDING); errors NOTFOUND, CORRUPT
local t = must_load(ARGV[2])
local deleted = remove_task(t)
finish({ deleted })
return deleted.old_state
