-- promote: SCHEDULED tasks whose due time has come -> PENDING at the tail of the
-- list of their queue (queue_name) that their `queue` field names: the retry list
-- for a retry (fail.lua sets it), the new-work list of their priority for a task
-- created with a run time that never ran. retry_count is untouched. Safe with several schedulers: each id
-- moves once. The ids leave tasks:scheduled and join their lists in one call per
-- key, not one per task (a mass of due tasks is what this script meets).
-- KEYS[1]  tasks:scheduled
-- ARGV[1]  key prefix
-- ARGV[2]  how many at most in this call
-- Returns  {moved, ms until the next due task or -1 when none is scheduled}
local limit = tonumber(ARGV[2])
local due = redis.call('ZRANGE', SCHEDULED, '-inf', NOW_MS, 'BYSCORE', 'LIMIT', 0, limit)
local CHUNK = 4000
for i = 1, #due, CHUNK do
  redis.call('ZREM', SCHEDULED, unpack(due, i, math.min(i + CHUNK - 1, #due)))
end
local events, pushes, order = {}, {}, {}
for _, id in ipairs(due) do
  local t = load_task(id)
  if t and t.state == 'SCHEDULED' then
    local q = queue_of(t)
    local first_run = t.queue == 'primary' or string.sub(t.queue, 1, 6) == 'queue:'
    move_state(t, 'PENDING', { 'queue', first_run and 'primary' or 'retry' })
    local list = first_run and level_list(q, t.priority) or q.retry
    wake(q)
    if not pushes[list] then
      pushes[list] = {}
      order[#order + 1] = list
      if first_run and t.priority > 0 then redis.call('ZADD', q.levels, t.priority, t.priority) end
    end
    local ids = pushes[list]
    ids[#ids + 1] = id
    events[#events + 1] = changed(t, 'SCHEDULED', 'PENDING')
  end
end
for _, list in ipairs(order) do
  local ids = pushes[list]
  for i = 1, #ids, CHUNK do
    redis.call('LPUSH', list, unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
  end
end
finish(events)
local next_due = redis.call('ZRANGE', SCHEDULED, 0, 0, 'WITHSCORES')
local wait = -1
if next_due[2] then wait = math.max(0, tonumber(next_due[2]) - NOW_MS) end
return { #events, wait }
