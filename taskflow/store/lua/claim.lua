-- claim: a claimer (one of our workers, or a remote worker) takes up to N tasks from
-- the queues it consumes, PENDING -> ACTIVE, each under a lease. The id moves from
-- its list into the worker's active set and the lease index in this one step, so a
-- worker that dies afterwards never loses it (the reaper requeues it when the lease
-- expires).
-- Queues: each claim picks a queue by a golden-ratio draw with the weights as
-- shares; paused queues (queues:paused) are skipped. Within a queue, new work is
-- taken by priority: the highest non-empty level first, FIFO within a level; every
-- Nth new-work claim (ARGV[11]; 0 = never) goes to the levels below the highest in
-- turn, so no level waits forever; due retries get the retry ratio's share.
-- Routing: a claimer that names the task types it runs never gets another type: an
-- id of another type goes (still PENDING) to its queue's waiting list for that type,
-- and a claimer that runs a waiting type takes from that list first
-- (docs/state-machine.md, Queues).
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  worker_id
-- ARGV[3]  how many tasks at most
-- ARGV[4]  lease length in ms
-- ARGV[5]  a uniform random number in [0, 1) drawn by the caller
-- ARGV[6..10] retry ratio: default, warning length, ratio at warning,
--          critical length, ratio at critical (contract §2)
-- ARGV[11] N: every Nth new-work claim serves a lower priority level
-- ARGV[12] T: how many task types follow (0: the claimer runs any type)
-- ARGV[13..12+T] the task types the claimer runs
-- ARGV[13+T..] pairs of queue name, weight (none: the default queue alone)
-- Returns  per claimed task lease_token, task_id, task_type, retry_count, content,
--          metadata, one flat list (six values a task): what a worker needs to run
--          it, not the whole hash (histories and timestamps stay in Redis; copying
--          them out was a third of the claim); when the lists ran dry, one more
--          value ends it: the ms until the next scheduled task is due, or -1
--          (_claim.lua's end)
local out, events = {}, {}
claim_tasks(ARGV, out, events)
finish(events)
return out
