-- cancelled: the worker holding a task a client cancelled has stopped its handler:
-- ACTIVE -> CANCELLED, lease, active-set entry and cancel mark released. Takes a
-- batch of tasks, like complete.lua.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2..] pairs of task_id, lease token from claim
-- Returns  one code per task: 'OK', 'LEASELOST' (no longer held with this lease,
--          or never asked to be cancelled) or 'NOTFOUND'
local codes, events = {}, {}
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local t = load_task(id)
  if not t then
    codes[#codes + 1] = 'NOTFOUND'
  elseif t.state ~= 'ACTIVE' or t.lease_token ~= token or t.cancel_requested_at == '' then
    codes[#codes + 1] = 'LEASELOST'
  else
    release_hold(t)
    move_state(t, 'CANCELLED', { 'lease_token', '' })
    events[#events + 1] = changed(t, 'ACTIVE', 'CANCELLED')
    codes[#codes + 1] = 'OK'
  end
end
finish(events)
return codes
