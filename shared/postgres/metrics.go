package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics returns a collector of the use of db's pools, labelled pool
// "writes" (ingest and detection) and "reads", read from the pools' own
// counts at each scrape.
func (db *DB) Metrics() prometheus.Collector {
	return poolCollector{"writes": db.pool, "reads": db.reads}
}

type poolCollector map[string]*pgxpool.Pool

var (
	poolConns = prometheus.NewDesc("udaconnect_db_pool_connections",
		"Connections of the database pool, by state: acquired (in use), idle, constructing.", []string{"pool", "state"}, nil)
	poolMax = prometheus.NewDesc("udaconnect_db_pool_max_connections",
		"The most connections the database pool may open.", []string{"pool"}, nil)
	poolAcquires = prometheus.NewDesc("udaconnect_db_pool_acquires_total",
		"Connections taken from the pool.", []string{"pool"}, nil)
	poolEmptyAcquires = prometheus.NewDesc("udaconnect_db_pool_empty_acquires_total",
		"Connections taken from the pool that had to wait for one, or for one to be opened.", []string{"pool"}, nil)
	poolCanceledAcquires = prometheus.NewDesc("udaconnect_db_pool_canceled_acquires_total",
		"Waits for a connection given up because their request ended first.", []string{"pool"}, nil)
	poolAcquireSeconds = prometheus.NewDesc("udaconnect_db_pool_acquire_seconds_total",
		"Time spent waiting for connections from the pool.", []string{"pool"}, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolAcquires, poolEmptyAcquires, poolCanceledAcquires, poolAcquireSeconds} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, pool := range c {
		s := pool.Stat()
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), name, "acquired")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), name, "idle")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.ConstructingConns()), name, "constructing")
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolEmptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolCanceledAcquires, prometheus.CounterValue, float64(s.CanceledAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolAcquireSeconds, prometheus.CounterValue, s.AcquireDuration().Seconds(), name)
	}
}
