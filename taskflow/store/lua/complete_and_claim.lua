-- complete_and_claim: a worker's finished tasks and its next claim in one call
-- (TaskStore.complete_and_claim): complete.lua's batch, then claim.lua's claim,
-- each task's change as atomic as in those scripts, one finish() for both (one
-- stream entry, one snapshot), so a worker's round trip pays the per-call cost
-- once instead of twice.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  N: how many completions follow
-- ARGV[3..2+3N] triples of task_id, lease token, result (as complete.lua)
-- ARGV[3+3N..] claim.lua's ARGV[2..] (worker_id, how many, lease ms, ...)
-- Returns  {completion part, claim part}: each complete.lua's or claim.lua's
--          reply, or the error text that part met (the other part still ran:
--          each part answers on its own, as when the two were separate calls)
local last = 2 + 3 * tonumber(ARGV[2])
local claim_args = { ARGV[1] }
for i = last + 1, #ARGV do claim_args[#claim_args + 1] = ARGV[i] end
local events = {}
local function part(ok, reply)
  if ok then return reply end
  if type(reply) == 'table' then return reply.err or cjson.encode(reply) end
  return tostring(reply)
end
local codes = part(pcall(complete_tasks, ARGV, 3, last, {}, events))
local out = part(pcall(claim_tasks, claim_args, {}, events))
finish(events)
return { codes, out }
