-- delete: remove a task in any state with everything that points at it
-- (remove_task, lua/_remove_task.lua); a task whose hash cannot be read (malformed
-- fields, no state, not a hash: what a claim sets aside in tasks:corrupt) goes with
-- every entry that may name it (remove_malformed, lua/_remove_malformed.lua).
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  task_id
-- Returns  the state the task was in as reads showed it (a due SCHEDULED task was
--          PENDING; '' for a malformed hash whose state is none); errors NOTFOUND
local id = ARGV[2]
local readable, t = pcall(load_task, id)
if readable and t then
  local deleted = remove_task(t)
  finish({ deleted })
  return deleted.old_state
end
if readable and redis.call('EXISTS', task_key(id)) == 0 then
  fail_with('NOTFOUND', 'task ' .. id .. ' does not exist')
end
if not readable then
  local reason = type(t) == 'table' and t.err or tostring(t)
  if string.sub(reason, 1, 8) ~= 'CORRUPT ' and string.sub(reason, 1, 10) ~= 'WRONGTYPE ' then
    error(t)  -- not about this task's fields (out of memory...): nothing was written
  end
end
return remove_malformed(id)
