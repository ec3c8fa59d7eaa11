package licentia

// Consumption says where a meter stands for its period (unverified figures from the server: to show, never to grant by).
type Consumption struct {
	Meter     string
	Used      int64
	Limit     int64 // -1: no limit
	Remaining int64 // -1: no limit
	PeriodEnd string
}
