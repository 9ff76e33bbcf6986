package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// generator sends the requests and keeps their outcomes. Its HTTP/1.1 client (conn.go) runs each exchange without
// the extra goroutines of net/http's Transport: the pacer writes a request on an idle connection itself, and the
// connection's one reader goroutine reads the answer.
type generator struct {
	cfg    *config
	addr   string // host:port
	head   []byte // request line and headers, up to the Content-Length
	parts  [][]byte
	method string
	dials  atomic.Int64
	pool   pool
	pacer  *pacer
	// closed loop: each worker's connection
	workerConns []*conn
	samples     struct {
		sync.Mutex
		list []string
	}
}

func newGenerator(c *config, template []byte) (*generator, error) {
	target, err := url.Parse(c.url)
	if err != nil {
		return nil, err
	}
	if target.Scheme != "http" {
		return nil, fmt.Errorf("only http:// URLs (the benchmark talks to loopback listeners), not %q", c.url)
	}
	g := &generator{cfg: c, addr: target.Host}
	if g.pacer, err = newPacer(); err != nil {
		return nil, err
	}
	if target.Port() == "" {
		g.addr = net.JoinHostPort(target.Hostname(), "80")
	}
	g.method = strings.ToUpper(c.method)
	if g.method == "" {
		g.method = "GET"
		if len(template) > 0 {
			g.method = "POST"
		}
	}
	head := g.method + " " + target.RequestURI() + " HTTP/1.1\r\n"
	host := target.Host
	var extra strings.Builder
	for _, h := range c.headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(h, "\r\n") {
			return nil, fmt.Errorf("header %q is not \"name: value\"", h)
		}
		switch strings.ToLower(name) {
		case "host":
			host = value
		case "content-length", "transfer-encoding", "connection":
			return nil, fmt.Errorf("header %q is set by loadgen", name)
		default:
			extra.WriteString(name + ": " + value + "\r\n")
		}
	}
	g.head = []byte(head + "Host: " + host + "\r\n" + extra.String())
	if c.unique {
		g.parts = splitAll(template, []byte("{{n}}"))
	} else {
		g.parts = [][]byte{template}
	}
	return g, nil
}

// body of request `index`: the template with every {{n}} replaced by "<tag>-<index, zero-padded to 6 digits>".
func (g *generator) body(tag string, index int) []byte {
	if len(g.parts) == 1 {
		return g.parts[0]
	}
	var value [64]byte
	v := append(value[:0], tag...)
	v = append(v, '-')
	digits := strconv.AppendInt(nil, int64(index), 10)
	for i := len(digits); i < 6; i++ {
		v = append(v, '0')
	}
	v = append(v, digits...)
	size := len(v) * (len(g.parts) - 1)
	for _, part := range g.parts {
		size += len(part)
	}
	out := make([]byte, 0, size)
	for i, part := range g.parts {
		if i > 0 {
			out = append(out, v...)
		}
		out = append(out, part...)
	}
	return out
}

// wire is the whole request as sent.
func (g *generator) wire(r *request) {
	body := g.body(r.tag, r.index)
	buf := make([]byte, 0, len(g.head)+32+len(body))
	buf = append(buf, g.head...)
	if len(body) > 0 || g.method == "POST" || g.method == "PUT" || g.method == "PATCH" {
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, int64(len(body)), 10)
		buf = append(buf, "\r\n"...)
	}
	buf = append(buf, "\r\n"...)
	r.wire = append(buf, body...)
	r.bodyLen = len(body)
}

func (g *generator) sample(text string) {
	g.samples.Lock()
	defer g.samples.Unlock()
	if len(g.samples.list) < 5 {
		g.samples.list = append(g.samples.list, text)
	}
}

var addressPattern = regexp.MustCompile(`\[?[0-9a-fA-F.:]+\]?:\d+`)

// describe turns a transport error into a stable key (no addresses or ports) to count errors by.
func describe(err error) string {
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timeout"
	}
	return addressPattern.ReplaceAllString(err.Error(), "ADDR")
}

// ───────────────────────────────────────────────────────────────── phases

// request is one exchange.
type request struct {
	ph      *phaseState
	index   int
	tag     string
	due     time.Time // open loop: when it is scheduled
	sentAt  time.Time
	wire    []byte
	bodyLen int
	retried bool
}

// outcome of one request. Times are in ns; latency counts from the scheduled time (open) or the send (closed).
type outcome struct {
	latency   int64
	service   int64
	lag       int64
	end       int64 // since the phase's t0
	status    int   // 0: transport error
	err       string
	reqBytes  int
	respBytes int64
}

type phaseState struct {
	t0          time.Time
	outcomes    []outcome
	wg          sync.WaitGroup
	inflight    atomic.Int64
	maxInflight atomic.Int64
}

func (ph *phaseState) started() {
	now := ph.inflight.Add(1)
	for {
		seen := ph.maxInflight.Load()
		if now <= seen || ph.maxInflight.CompareAndSwap(seen, now) {
			return
		}
	}
}

// finish records an open-loop request's outcome.
func (ph *phaseState) finish(r *request, o outcome, end time.Time) {
	if r.sentAt.IsZero() {
		r.sentAt = end
	}
	o.reqBytes = r.bodyLen
	o.lag = int64(r.sentAt.Sub(r.due))
	o.latency = int64(end.Sub(r.due))
	o.service = int64(end.Sub(r.sentAt))
	o.end = int64(end.Sub(ph.t0))
	ph.outcomes[r.index] = o
	ph.inflight.Add(-1)
	ph.wg.Done()
}

type phase struct {
	mode        string
	outcomes    []outcome
	sent        int
	scheduled   int
	wall        time.Duration // t0 → last answer (or the duration, whichever is longer)
	sendSpan    time.Duration
	maxInflight int64
	dials       int64 // connections opened during the phase
}

func (g *generator) run(d time.Duration, tag string) phase {
	g.samples.Lock()
	g.samples.list = nil
	g.samples.Unlock()
	dials := g.dials.Load()
	var p phase
	if g.cfg.mode == "closed" {
		p = g.closedLoop(d, tag)
	} else {
		p = g.openLoop(d, tag)
	}
	p.dials = g.dials.Load() - dials
	return p
}

// openLoop: request i is due at t0 + i/rate and is written then, on an idle connection (or a new one).
func (g *generator) openLoop(d time.Duration, tag string) phase {
	total := int(float64(d)/float64(time.Second)*g.cfg.rate + 0.5)
	if total < 1 {
		total = 1
	}
	ph := &phaseState{outcomes: make([]outcome, total)}
	ph.t0 = time.Now().Add(2 * time.Millisecond)
	nsPerRequest := float64(time.Second) / g.cfg.rate
	for i := 0; i < total; i++ {
		r := &request{ph: ph, index: i, tag: tag, due: ph.t0.Add(time.Duration(float64(i) * nsPerRequest))}
		g.wire(r) // before its time: building it is not the target's latency
		g.pacer.sleepUntil(r.due)
		ph.wg.Add(1)
		ph.started()
		g.dispatch(r)
	}
	sendSpan := time.Since(ph.t0)
	ph.wg.Wait()
	last := d
	for _, o := range ph.outcomes {
		if time.Duration(o.end) > last {
			last = time.Duration(o.end)
		}
	}
	return phase{mode: "open", outcomes: ph.outcomes, sent: total, scheduled: total, wall: last, sendSpan: sendSpan, maxInflight: ph.maxInflight.Load()}
}

// pacer wakes the open loop when the next request is due: a timerfd read through Go's netpoller, so the waiting
// goroutine holds no thread and the wake-up is as precise as the kernel's timer (Go's own timers round a wait
// under a millisecond up to one; a nanosleep holding a thread keeps the runtime's monitor busy taking it back).
type pacer struct {
	file *os.File
	buf  [8]byte
}

type itimerspec struct {
	interval syscall.Timespec
	value    syscall.Timespec
}

func newPacer() (*pacer, error) {
	const tfdNonblock, tfdCloexec = syscall.O_NONBLOCK, syscall.O_CLOEXEC
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, 1 /* CLOCK_MONOTONIC */, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil, fmt.Errorf("timerfd_create: %w", errno)
	}
	return &pacer{file: os.NewFile(fd, "timerfd")}, nil
}

// sleepUntil returns at `due` (or at once when it has passed).
func (p *pacer) sleepUntil(due time.Time) {
	wait := time.Until(due)
	if wait <= 0 {
		return
	}
	spec := itimerspec{value: syscall.NsecToTimespec(int64(wait))}
	raw, err := p.file.SyscallConn()
	if err == nil {
		var errno syscall.Errno
		err = raw.Control(func(fd uintptr) {
			_, _, errno = syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
		})
		if err == nil && errno != 0 {
			err = errno
		}
	}
	if err == nil {
		_, err = p.file.Read(p.buf[:])
	}
	if err != nil { // not expected on Linux; a coarser sleep still paces
		time.Sleep(time.Until(due))
	}
}

// closedLoop: `connections` workers, each on its own connection, sends its next request as soon as the last answer
// is read, until d is over.
func (g *generator) closedLoop(d time.Duration, tag string) phase {
	workers := g.cfg.connections
	if g.workerConns == nil {
		g.workerConns = make([]*conn, workers) // kept from the warm-up to the measured phase
	}
	var next atomic.Int64
	results := make([][]outcome, workers)
	var wg sync.WaitGroup
	t0 := time.Now()
	deadline := t0.Add(d)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			results[w] = g.worker(w, tag, &next, t0, deadline)
		}(w)
	}
	wg.Wait()
	wall := time.Since(t0)
	var outcomes []outcome
	for _, mine := range results {
		outcomes = append(outcomes, mine...)
	}
	return phase{mode: "closed", outcomes: outcomes, sent: len(outcomes), scheduled: len(outcomes), wall: wall, sendSpan: d, maxInflight: int64(workers)}
}

func splitAll(s, sep []byte) [][]byte {
	var parts [][]byte
	for {
		at := bytes.Index(s, sep)
		if at < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:at])
		s = s[at+len(sep):]
	}
}
