// An empty Go program: the start-up every Go program pays (bench/clients_offline.py).
package main

func main() {}
