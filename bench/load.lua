-- load.lua - the wrk script of `make bench` (bench/run.sh passes everything in the environment).
--
--   BENCH_MODE=get   BENCH_PATH=/api/...        GET one path over and over
--   BENCH_MODE=tick  BENCH_MID=m BENCH_FIRST=a BENCH_LAST=b
--                    durable ticks and unticks over the steps a..b of migration m
--   BENCH_TOKEN      the bearer token; BENCH_THREADS  wrk's -t
--
-- Ticks: each wrk thread owns its own slice of the steps and sweeps it: tick every step of the
-- slice in turn, then untick every one, and so on. A step is unticked only after the whole slice
-- (hundreds of requests) has gone by since its tick, while a thread has only its few connections
-- in flight, so the untick never overtakes its tick: every answer should be 200, and any 409 or
-- other refusal is counted (non2xx) rather than hidden.
--
-- done() prints one machine-readable line for run.sh:
--   WRK requests=N duration_us=D non2xx=X socket_errors=E p50_us=.. p90_us=.. p99_us=.. max_us=..

-- wrk runs each thread's init() right after that thread's setup(), before the next thread
-- exists, so the number of threads comes from the environment (BENCH_THREADS, wrk's -t).
local nthreads_seen = 0

function setup(thread)
   thread:set("id", nthreads_seen)
   nthreads_seen = nthreads_seen + 1
end

local mode, path, headers
local first, count, i = 0, 0, 0

function init(args)
   mode = os.getenv("BENCH_MODE") or "get"
   headers = { ["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "") }
   if mode == "tick" then
      local mid = os.getenv("BENCH_MID")
      local lo = tonumber(os.getenv("BENCH_FIRST"))
      local hi = tonumber(os.getenv("BENCH_LAST"))
      -- this thread's slice of lo..hi
      local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
      local per = math.floor((hi - lo + 1) / nthreads)
      first = lo + id * per
      count = per
      path = "/api/migrations/" .. mid .. "/steps/"
      headers["Content-Type"] = "application/json"
   else
      path = os.getenv("BENCH_PATH")
      wrk.method = "GET"
      wrk.path = path
      wrk.headers = headers
   end
end

-- GETs are one fixed request: wrk builds it once per thread from wrk.path and wrk.headers (set
-- in init) and sends the same bytes again, as plain `wrk URL` would. Defining request() at all
-- makes wrk call into Lua and format a request for every request it sends, on the same two
-- cores as the server (~1/4 of wrk's time at ~80k requests/s), so it is defined for ticks only,
-- which need a new path each time. wrk decides this when it loads the script, before init().
if (os.getenv("BENCH_MODE") or "get") == "tick" then
   -- wrk calls request() once on the first thread before it starts, to check the script (and
   -- throws that request away): that call must not use up a tick, or the untick of its step
   -- would come back 409 a sweep later.
   local checked = false

   -- Every request a thread will send is formatted once, here, on its first call: then each
   -- call only picks one (wrk.format per request cost the cores the server needs, as for GETs).
   local ticks, unticks

   function request()
      if ticks == nil then
         ticks, unticks = {}, {}
         for k = 0, count - 1 do
            ticks[k] = wrk.format("POST", path .. (first + k) .. "/tick", headers, '{"note":"wrk"}')
            unticks[k] = wrk.format("POST", path .. (first + k) .. "/untick", headers, '{"reason":"wrk"}')
         end
      end
      if id == 0 and not checked then
         checked = true
         return ticks[0]
      end
      local k = i % count
      i = i + 1
      if math.floor((i - 1) / count) % 2 == 0 then
         return ticks[k]
      end
      return unticks[k]
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
