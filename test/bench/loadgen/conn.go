package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection carrying one exchange at a time.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	cur      *request // open loop: the exchange in flight, nil when idle (guarded by pool.mu)
	answered int      // exchanges completed on it (a reused connection the server closed may be retried)
}

// pool: the open loop's connections. An idle one is reused most recently used first; over the cap, requests queue
// until a connection is free (still timed from their scheduled time).
type pool struct {
	mu    sync.Mutex
	idle  []*conn
	open  int
	queue []*request
}

func (g *generator) dial() (*conn, error) {
	g.dials.Add(1)
	nc, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 16<<10)}, nil
}

// answer is what one response was.
type answer struct {
	status     int
	size       int64
	closeAfter bool
	err        error
}

// readAnswer reads one whole response; for a non-2xx one the start of its body goes to the error samples.
func (g *generator) readAnswer(c *conn) answer {
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return answer{err: err}
	}
	a := answer{status: resp.StatusCode, closeAfter: resp.Close}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		a.size, err = io.Copy(io.Discard, resp.Body)
	} else {
		head := make([]byte, 300)
		n, _ := io.ReadFull(resp.Body, head)
		var rest int64
		rest, err = io.Copy(io.Discard, resp.Body)
		a.size = int64(n) + rest
		g.sample(fmt.Sprintf("%d %s %s", resp.StatusCode, resp.Header.Get("x-envoy-response-flags"), head[:n]))
	}
	resp.Body.Close()
	if err != nil {
		a.err = fmt.Errorf("reading the answer: %w", err)
	}
	return a
}

// stale: the server closed a connection it had kept alive just as a request went out on it (nothing came back):
// the request is sent once more on a new connection, as browsers and HTTP clients do.
func stale(c *conn, r *request, err error) bool {
	return c.answered > 0 && !r.retried && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

func (a answer) outcome() outcome {
	if a.err != nil {
		return outcome{err: describe(a.err), respBytes: a.size}
	}
	return outcome{status: a.status, respBytes: a.size}
}

// ───────────────────────────────────────────────────────────────── open loop

// dispatch sends r on an idle connection, a new one, or queues it when the cap is reached.
func (g *generator) dispatch(r *request) {
	p := &g.pool
	p.mu.Lock()
	var c *conn
	if n := len(p.idle); n > 0 {
		c = p.idle[n-1]
		p.idle = p.idle[:n-1]
	} else if g.cfg.connections > 0 && p.open >= g.cfg.connections {
		p.queue = append(p.queue, r)
		p.mu.Unlock()
		return
	} else {
		p.open++
		p.mu.Unlock()
		var err error
		if c, err = g.dial(); err != nil {
			p.mu.Lock()
			p.open--
			p.mu.Unlock()
			r.ph.finish(r, outcome{err: describe(err)}, time.Now())
			return
		}
		c.cur = r
		go g.readLoop(c)
		g.send(c, r)
		return
	}
	c.cur = r
	p.mu.Unlock()
	g.send(c, r)
}

func (g *generator) send(c *conn, r *request) {
	if g.cfg.timeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(g.cfg.timeout))
	}
	r.sentAt = time.Now()
	if _, err := c.nc.Write(r.wire); err != nil {
		c.nc.Close() // its reader sees the failure and handles r
	}
}

// readLoop reads the answers arriving on c, one per request sent on it, until the connection ends.
func (g *generator) readLoop(c *conn) {
	p := &g.pool
	for {
		a := g.readAnswer(c)
		end := time.Now()
		p.mu.Lock()
		r := c.cur
		c.cur = nil
		if a.err != nil || a.closeAfter || r == nil {
			// The connection is done: drop it (from the idle list when it was idle), and let a queued request have
			// a new one.
			for i, idle := range p.idle {
				if idle == c {
					p.idle = append(p.idle[:i], p.idle[i+1:]...)
					break
				}
			}
			p.open--
			var next *request
			if len(p.queue) > 0 {
				next, p.queue = p.queue[0], p.queue[1:]
			}
			p.mu.Unlock()
			c.nc.Close()
			if r != nil {
				if a.err != nil && stale(c, r, a.err) {
					r.retried = true
					g.dispatch(r)
				} else {
					r.ph.finish(r, a.outcome(), end)
				}
			}
			if next != nil {
				g.dispatch(next)
			}
			return
		}
		c.answered++
		var next *request
		if len(p.queue) > 0 {
			next, p.queue = p.queue[0], p.queue[1:]
			c.cur = next
		} else {
			p.idle = append(p.idle, c)
		}
		p.mu.Unlock()
		if next == nil && g.cfg.timeout > 0 {
			c.nc.SetReadDeadline(time.Time{}) // idle: no deadline (the next send sets one)
		}
		r.ph.finish(r, a.outcome(), end)
		if next != nil {
			g.send(c, next)
		}
	}
}

// ───────────────────────────────────────────────────────────────── closed loop

// worker sends requests back to back on its own connection until the deadline.
func (g *generator) worker(w int, tag string, next *atomic.Int64, t0, deadline time.Time) []outcome {
	mine := make([]outcome, 0, 4096)
	for time.Now().Before(deadline) {
		r := &request{index: int(next.Add(1) - 1), tag: tag}
		g.wire(r)
		o, end, refused := g.exchange(w, r)
		o.reqBytes = r.bodyLen
		o.service = int64(end.Sub(r.sentAt))
		o.latency = o.service
		o.end = int64(end.Sub(t0))
		mine = append(mine, o)
		if refused {
			time.Sleep(10 * time.Millisecond) // do not spin on a server that refuses connections
		}
	}
	return mine
}

// exchange sends r on worker w's connection (a new one when it has none) and reads the answer.
func (g *generator) exchange(w int, r *request) (outcome, time.Time, bool) {
	for {
		c := g.workerConns[w]
		r.sentAt = time.Now()
		if c == nil {
			var err error
			if c, err = g.dial(); err != nil {
				return outcome{err: describe(err)}, time.Now(), true
			}
			g.workerConns[w] = c
		}
		if g.cfg.timeout > 0 {
			c.nc.SetReadDeadline(time.Now().Add(g.cfg.timeout))
		}
		var a answer
		if _, err := c.nc.Write(r.wire); err != nil {
			a = answer{err: err}
		} else {
			a = g.readAnswer(c)
		}
		end := time.Now()
		if a.err != nil || a.closeAfter {
			c.nc.Close()
			g.workerConns[w] = nil
			if a.err != nil && stale(c, r, a.err) {
				r.retried = true
				continue
			}
		} else {
			c.answered++
		}
		return a.outcome(), end, false
	}
}
