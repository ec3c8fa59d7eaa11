/* An empty C program: the start-up every C program pays (bench/clients_offline.py). */
int main(void) { return 0; }
