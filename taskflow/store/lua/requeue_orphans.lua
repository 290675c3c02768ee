-- requeue_orphans: PENDING tasks in no queue, and ACTIVE tasks under no lease, go to
-- the tail of the new-work list of their priority (a remote worker's task: of its
-- named queue). Our own transitions never leave such tasks; this repairs data
-- written by older versions or by hand. O(pending + active).
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- Returns  {found, requeued}
local queued = {}
local lists = { PRIMARY, RETRY }
for _, level in ipairs(redis.call('ZRANGE', LEVELS, 0, -1)) do
  lists[#lists + 1] = level_list(tonumber(level))
end
for _, q in ipairs(lists) do
  for _, id in ipairs(redis.call('LRANGE', q, 0, -1)) do queued[id] = true end
end
local events, found = {}, 0
-- Puts an orphan back in line: its named queue, or its priority's new-work list.
local function requeue(id, queue_field, priority)
  local named = named_list(queue_field)
  if named then
    enqueue(named, id, false)
  else
    push_new(id, priority)
    wake()
  end
end
for _, id in ipairs(redis.call('ZRANGE', state_index('PENDING'), 0, -1)) do
  local queue = redis.call('HGET', task_key(id), 'queue') or ''
  local named = named_list(queue)
  if not queued[id] and not (named and redis.call('LPOS', named, id)) then
    found = found + 1
    if not named then
      queue = 'primary'
      redis.call('HSET', task_key(id), 'queue', queue)
    end
    requeue(id, queue, redis.call('HGET', task_key(id), 'priority'))
  end
end
for _, id in ipairs(redis.call('ZRANGE', state_index('ACTIVE'), 0, -1)) do
  if not redis.call('ZSCORE', LEASES, id) then
    local t = load_task(id)
    if t then
      found = found + 1
      local queue = named_list(t.queue) and t.queue or 'primary'
      release_hold(t)
      move_state(t, 'PENDING', { 'queue', queue, 'lease_token', '' })
      requeue(id, queue, t.priority)
      events[#events + 1] = changed(t, 'ACTIVE', 'PENDING')
    end
  end
end
finish(events)
return { found, found }
