-- requeue_orphans: PENDING tasks in no list of their queue, and ACTIVE tasks under
-- no lease, go to the tail of their queue's new-work list of their priority. Our
-- own transitions never leave such tasks; this repairs data written by older
-- versions or by hand. O(pending + active).
-- ACTIVE tasks are found in the workers' active-task sets (ACTIVE has no listing
-- index; data of older versions still has one, read too).
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2..] ids of the workers with an active-task set
-- Returns  {found, requeued}
local queued = {}
local names = redis.call('SMEMBERS', KNOWN_QUEUES)
names[#names + 1] = DEFAULT_QUEUE
for _, name in ipairs(names) do
  local q = queue_keys(name)
  local lists = { q.primary, q.retry }
  for _, level in ipairs(redis.call('ZRANGE', q.levels, 0, -1)) do
    lists[#lists + 1] = level_list(q, tonumber(level))
  end
  for _, task_type in ipairs(redis.call('SMEMBERS', q.waiting_types)) do
    lists[#lists + 1] = q.waiting_prefix .. task_type
  end
  for _, list in ipairs(lists) do
    for _, id in ipairs(redis.call('LRANGE', list, 0, -1)) do queued[id] = true end
  end
end
-- The older scheme's named lists (tasks:pending:queue:NAME) count as no list: their
-- ids are requeued into their queue's lists here.
local events, found = {}, 0
for _, id in ipairs(redis.call('ZRANGE', state_index('PENDING'), 0, -1)) do
  if not queued[id] then
    local t = load_task(id)
    if t then
      found = found + 1
      local q = queue_of(t)
      local fields = { 'queue', 'primary' }
      if t.queue_name == '' and q.name ~= DEFAULT_QUEUE then
        fields[#fields + 1] = 'queue_name'
        fields[#fields + 1] = q.name
      end
      redis.call('HSET', task_key(id), unpack(fields))
      enqueue_new(q, id, t.priority)
    end
  end
end
local held, seen = redis.call('ZRANGE', state_index('ACTIVE'), 0, -1), {}
for i = 2, #ARGV do
  for _, id in ipairs(redis.call('SMEMBERS', active_tasks_key(ARGV[i]))) do held[#held + 1] = id end
end
for _, id in ipairs(held) do
  if not seen[id] and not redis.call('ZSCORE', LEASES, id) then
    seen[id] = true
    local t = load_task(id)
    if t and t.state == 'ACTIVE' then
      found = found + 1
      release_hold(t)
      move_state(t, 'PENDING', { 'queue', 'primary', 'lease_token', '' })
      enqueue_new(queue_of(t), id, t.priority)
      events[#events + 1] = changed(t, 'ACTIVE', 'PENDING')
    end
  end
end
finish(events)
return { found, found }
