// loadgen: the peer benchmark's HTTP load generator, a small Go program (standard library only) so that generating
// the load costs little CPU and does not share a runtime with the Node gateways it measures.
//
// Two modes:
//
//   - open (default): request i is due at t0 + i/rate and is sent then, whether or not earlier requests have
//     answered. Its latency counts from that scheduled time (coordinated-omission corrected, as wrk2); the service
//     time from the actual send is reported beside it, and so is the send lag (actual − scheduled), the generator's
//     own pacing error. Connections are keep-alive HTTP/1.1, one exchange at a time each, opened on demand (the most
//     recently used idle one first), at most -connections (0: no cap; over it, requests queue, still timed from their
//     schedule). The pacer waits on a timerfd through Go's netpoller (precise to the kernel's timer, no busy loop:
//     the machine's cores are shared with the system under test) and writes each request itself; one reader
//     goroutine per connection reads the answers (no net/http Transport: its per-connection goroutines and hand-offs
//     cost more CPU than the requests).
//   - closed: -connections workers (default 50), each on its own connection, send the next request as soon as the
//     last answer is read, for the maximum throughput at that concurrency; latency is the service time.
//
// Only http:// (the benchmark talks to loopback listeners); answers are parsed with net/http's ReadResponse
// (Content-Length, chunked or close-delimited). A request that fails on a reused connection before any byte of the
// answer (the server closed it as it went out) is sent once more on a new one; a request over -timeout is an error.
//
// A warm-up at the same settings (not recorded, its own unique values) runs first on the same connections. The body
// is read from -body; with -unique every "{{n}}" in it becomes "<tag>-<index, 6 digits>" ("w<tag>-…" in the
// warm-up), so every request is different (a cache never hits) and the sequence is the same on every run with the
// same tag.
//
// Progress lines go to stderr: "loadgen: ready" when the warm-up is over, "loadgen: done" when the measured phase has
// drained. With -sync, loadgen then waits for a line on stdin before going on, so a caller can sample the CPU time of
// other processes exactly around the measured phase; if stdin closes before then, loadgen exits (status 3), so it
// never outlives its caller. The result is one JSON object on stdout.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, "; ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

type config struct {
	url         string
	method      string
	mode        string
	rate        float64
	duration    time.Duration
	warmup      time.Duration
	timeout     time.Duration
	connections int
	unique      bool
	tag         string
	sync        bool
	headers     headerFlags
	bodyFile    string
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "", "target URL (required)")
	fs.StringVar(&c.method, "method", "", "HTTP method (default POST with a body, GET without)")
	fs.StringVar(&c.mode, "mode", "open", "open: fixed rate (-rate); closed: -connections workers back to back")
	fs.Float64Var(&c.rate, "rate", 100, "open loop: requests per second")
	fs.DurationVar(&c.duration, "d", 10*time.Second, "measured duration")
	fs.DurationVar(&c.warmup, "warmup", 0, "warm-up before the measured phase, same settings, not recorded")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout (whole exchange); a request over it is an error")
	fs.IntVar(&c.connections, "connections", 0, "open loop: most connections at once (0: opened on demand, no cap); closed loop: workers (default 50)")
	fs.BoolVar(&c.unique, "unique", false, `replace every "{{n}}" in the body with "<tag>-<index>" (unique per request)`)
	fs.StringVar(&c.tag, "tag", "", "the unique values' prefix (default: derived from the start time)")
	fs.BoolVar(&c.sync, "sync", false, "after the ready and done lines, wait for a line on stdin; exit when stdin closes early")
	fs.Var(&c.headers, "H", `request header "name: value" (repeatable)`)
	fs.StringVar(&c.bodyFile, "body", "", "request body file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.url == "" {
		return nil, errors.New("-url is required")
	}
	if c.mode != "open" && c.mode != "closed" {
		return nil, fmt.Errorf("-mode must be open or closed, not %q", c.mode)
	}
	if c.mode == "open" && c.rate <= 0 {
		return nil, errors.New("-rate must be positive")
	}
	if c.mode == "closed" && c.connections <= 0 {
		c.connections = 50
	}
	if c.tag == "" {
		c.tag = strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
	}
	return c, nil
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	var template []byte
	if c.bodyFile != "" {
		if template, err = os.ReadFile(c.bodyFile); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
	}
	g, err := newGenerator(c, template)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	proceed := syncLines(c.sync, 2)

	if c.warmup > 0 {
		g.run(c.warmup, "w"+c.tag)
	}
	fmt.Fprintln(os.Stderr, "loadgen: ready")
	proceed()
	cpuBefore := cpuTime()
	phase := g.run(c.duration, c.tag)
	cpu := cpuTime() - cpuBefore
	fmt.Fprintln(os.Stderr, "loadgen: done")
	proceed()

	out := g.report(phase, cpu)
	data, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	os.Stdout.Write(append(data, '\n'))
}

// syncLines returns what waits for the next stdin line (a no-op without -sync). Stdin closing before `expected`
// lines have come means the caller is gone: exit at once.
func syncLines(enabled bool, expected int) func() {
	if !enabled {
		return func() {}
	}
	lines := make(chan struct{})
	go func() {
		reader := bufio.NewReader(os.Stdin)
		for i := 0; i < expected; i++ {
			if _, err := reader.ReadString('\n'); err != nil {
				fmt.Fprintln(os.Stderr, "loadgen: stdin closed, exiting")
				os.Exit(3)
			}
			lines <- struct{}{}
		}
	}()
	return func() { <-lines }
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func maxRssMb() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Maxrss) / 1024 // kB on Linux
}
