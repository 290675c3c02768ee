-- delete: remove a task in any state with everything that points at it
-- (remove_task, lua/_remove_task.lua).
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  task_id
-- Returns  the state the task was in; errors NOTFOUND, CORRUPT
local t = must_load(ARGV[2])
finish({ remove_task(t) })
return t.state
