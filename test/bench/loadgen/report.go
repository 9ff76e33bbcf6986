package main

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// output is the JSON loadgen prints: the measured phase only (the warm-up is not in it).
type output struct {
	Mode              string         `json:"mode"`
	URL               string         `json:"url"`
	Rate              float64        `json:"rate,omitempty"`
	Connections       int            `json:"connections"`
	DurationS         float64        `json:"duration_s"`
	WarmupS           float64        `json:"warmup_s"`
	Tag               string         `json:"tag"`
	Scheduled         int            `json:"scheduled"`
	Requests          int            `json:"requests"`
	OK                int            `json:"ok"`
	Errors            int            `json:"errors"`
	ErrorsByStatus    map[string]int `json:"errors_by_status"`
	ErrorsByTransport map[string]int `json:"errors_by_transport"`
	ErrorSamples      []string       `json:"error_samples"`
	AchievedRps       float64        `json:"achieved_rps"`
	SendRate          float64        `json:"send_rate"`
	MaxInflight       int64          `json:"max_inflight"`
	ConnectionsOpened int64          `json:"connections_opened"`
	Latency           summary        `json:"latency_ms"`
	Service           summary        `json:"service_ms"`
	SendLag           summary        `json:"send_lag_ms"`
	RequestBytes      byteRange      `json:"request_bytes"`
	ResponseBytes     int64          `json:"response_bytes"`
	CPUMs             float64        `json:"cpu_ms"`
	CPUMsPerRequest   float64        `json:"cpu_ms_per_request"`
	MaxRssMb          float64        `json:"max_rss_mb"`
	WallS             float64        `json:"wall_s"`
}

type byteRange struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// summary of latencies in ms; only "count" when there are none.
type summary map[string]float64

func (g *generator) report(p phase, cpu time.Duration) output {
	out := output{
		Mode: p.mode, URL: g.cfg.url, Connections: g.cfg.connections,
		DurationS: g.cfg.duration.Seconds(), WarmupS: g.cfg.warmup.Seconds(), Tag: g.cfg.tag,
		Scheduled: p.scheduled, Requests: p.sent,
		ErrorsByStatus: map[string]int{}, ErrorsByTransport: map[string]int{}, ErrorSamples: g.samples.list,
		MaxInflight: p.maxInflight, ConnectionsOpened: p.dials,
		CPUMs: round3(float64(cpu) / 1e6), MaxRssMb: round3(maxRssMb()), WallS: round3(p.wall.Seconds()),
	}
	if out.ErrorSamples == nil {
		out.ErrorSamples = []string{}
	}
	if p.mode == "open" {
		out.Rate = g.cfg.rate
	}
	latency := make([]float64, 0, len(p.outcomes))
	service := make([]float64, 0, len(p.outcomes))
	lag := make([]float64, 0, len(p.outcomes))
	out.RequestBytes.Min = math.MaxInt
	for _, o := range p.outcomes {
		lag = append(lag, ms(o.lag))
		out.ResponseBytes += o.respBytes
		out.RequestBytes.Min = min(out.RequestBytes.Min, o.reqBytes)
		out.RequestBytes.Max = max(out.RequestBytes.Max, o.reqBytes)
		switch {
		case o.status >= 200 && o.status < 300:
			out.OK++
			latency = append(latency, ms(o.latency))
			service = append(service, ms(o.service))
		case o.status != 0:
			out.Errors++
			out.ErrorsByStatus[strconv.Itoa(o.status)]++
		default:
			out.Errors++
			out.ErrorsByTransport[o.err]++
		}
	}
	if len(p.outcomes) == 0 {
		out.RequestBytes.Min = 0
	}
	out.Latency, out.Service, out.SendLag = summarize(latency), summarize(service), summarize(lag)
	if p.wall > 0 {
		out.AchievedRps = round1(float64(out.OK) / p.wall.Seconds())
	}
	if p.sendSpan > 0 {
		out.SendRate = round1(float64(p.sent) / p.sendSpan.Seconds())
	}
	if p.sent > 0 {
		out.CPUMsPerRequest = round3(float64(cpu) / 1e6 / float64(p.sent))
	}
	return out
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// summarize: nearest-rank percentiles (as test/bench/lib/percentiles.ts), mean and max, in ms.
func summarize(values []float64) summary {
	if len(values) == 0 {
		return summary{"count": 0}
	}
	sort.Float64s(values)
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	return summary{
		"count": float64(len(values)),
		"mean":  round3(sum / float64(len(values))),
		"p50":   round3(percentile(values, 0.5)),
		"p90":   round3(percentile(values, 0.9)),
		"p99":   round3(percentile(values, 0.99)),
		"p999":  round3(percentile(values, 0.999)),
		"max":   round3(values[len(values)-1]),
	}
}

func percentile(sorted []float64, q float64) float64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(len(sorted)-1, max(0, rank-1))]
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
