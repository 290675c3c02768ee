-- requeue_orphans: PENDING tasks in no queue, and ACTIVE tasks under no lease, go to
-- the tail of the new-work list of their priority. Our own transitions never leave such tasks;
-- this repairs data written by older versions or by hand. O(pending + active).
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
local function in_named_queue(id)
  local named = named_list(redis.call('HGET', task_key(id), 'queue') or '')
  return named and redis.call('LPOS', named, id)
end
for _, id in ipairs(redis.call('ZRANGE', state_index('PENDING'), 0, -1)) do
  if not queued[id] and not in_named_queue(id) then
    found = found + 1
    redis.call('HSET', task_key(id), 'queue', 'primary')
    push_new(id, redis.call('HGET', task_key(id), 'priority'))
    wake()
  end
end
for _, id in ipairs(redis.call('ZRANGE', state_index('ACTIVE'), 0, -1)) do
  if not redis.call('ZSCORE', LEASES, id) then
    local t = load_task(id)
    if t then
      found = found + 1
      release_hold(t)
      move_state(t, 'PENDING', { 'queue', 'primary', 'lease_token', '' })
      push_new(id, t.priority)
      wake()
      events[#events + 1] = changed(t, 'ACTIVE', 'PENDING')
    end
  end
end
finish(events)
return { found, found }
