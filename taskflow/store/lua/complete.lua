-- complete: ACTIVE -> COMPLETED with a result, only for the lease holder. Takes a
-- batch, so a worker finishing many tasks at once pays one round trip.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2..] triples of task_id, lease token from claim, result text
-- Returns  one code per task: 'OK', 'LEASELOST' (the worker no longer holds it:
--          fencing) or 'NOTFOUND' (deleted meanwhile); a malformed task: error CORRUPT
local codes, events = {}, {}
for i = 2, #ARGV, 3 do
  local id, token, result = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local t = load_task(id)
  if not t then
    codes[#codes + 1] = 'NOTFOUND'
  elseif t.state ~= 'ACTIVE' or t.lease_token ~= token then
    codes[#codes + 1] = 'LEASELOST'
  else
    release_hold(t)
    move_state(t, 'COMPLETED', { 'result', result, 'lease_token', '' })
    count_worker(t.worker_id, 'completed')
    events[#events + 1] = changed(t, 'ACTIVE', 'COMPLETED')
    codes[#codes + 1] = 'OK'
  end
end
finish(events)
return codes
