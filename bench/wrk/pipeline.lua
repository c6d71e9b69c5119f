-- HTTP pipelining for wrk, as TechEmpower's plaintext test does it: every write sends DEPTH
-- requests back to back (default 16), and wrk counts each response.
--
--   wrk -t1 -c50 -d3s -s bench/wrk/pipeline.lua http://127.0.0.1:8088/plaintext -- 16
--
-- Requests/s and request counts are right; wrk's latency figures are not: it records one
-- sample per batch, then "corrects" them for coordinated omission with an interval computed
-- from the number of responses (16 times too short here), and its percentiles come out as
-- artifacts or 0. The http suite reports no latency for this workload.

init = function(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format()
   end
   req = table.concat(r)
end

request = function()
   return req
end
