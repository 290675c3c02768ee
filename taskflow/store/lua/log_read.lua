-- log_read: a page of a task's kept log lines after a sequence number. The list
-- holds consecutive sequence numbers (log_append.lua trims only its head), so the
-- page is found by position without scanning.
-- KEYS[1]  the task's log list (task:{id}:logs)
-- ARGV[1]  key prefix
-- ARGV[2]  task id
-- ARGV[3]  return lines with a sequence number above this
-- ARGV[4]  most lines to return
-- Returns  { first kept seq, last seq, line JSON... } ({ 0, 0 } with no line yet);
--          errors NOTFOUND
local id, after, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', task_key(id)) == 0 then
  fail_with('NOTFOUND', 'task ' .. id .. ' does not exist')
end
local list = logs_key(id)
local tail = redis.call('LINDEX', list, -1)
if not tail then return { 0, 0 } end
local last = tonumber(cjson.decode(tail).seq)
local first = last - redis.call('LLEN', list) + 1
local start = math.max(after + 1, first)
local reply = { first, last }
if start > last or limit <= 0 then return reply end
local index = start - first
for _, line in ipairs(redis.call('LRANGE', list, index, index + limit - 1)) do
  reply[#reply + 1] = line
end
return reply
