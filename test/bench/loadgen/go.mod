module tollgate/bench/loadgen

go 1.22
