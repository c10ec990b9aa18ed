module github.com/dumpmap/dumpmap

go 1.26.8
