-- Completion (complete.lua's triples in A[first..last]), shared by complete.lua and
-- complete_and_claim.lua: appends one code per task to `codes` and the events to
-- `events`; the caller ends the call with finish(events).
local function complete_tasks(A, first, last, codes, events)
  -- The fields each completion sets besides move_state's: one table per call, its
  -- result filled in per task (move_state copies it into the HSET at once).
  local done = { 'result', '', 'lease_token', '' }
  for i = first, last, 3 do
    local id, token, result = A[i], A[i + 1], A[i + 2]
    local t = load_task(id)
    if not t then
      codes[#codes + 1] = 'NOTFOUND'
    elseif t.state ~= 'ACTIVE' or t.lease_token ~= token then
      codes[#codes + 1] = 'LEASELOST'
    else
      release_hold(t)
      done[2] = result
      move_state(t, 'COMPLETED', done)
      count_worker(t.worker_id, 'completed')
      events[#events + 1] = changed(t, 'ACTIVE', 'COMPLETED')
      codes[#codes + 1] = 'OK'
    end
  end
  return codes
end
