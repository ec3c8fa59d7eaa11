// An empty Java program: the start-up every Java program pays (bench/clients_offline.py).
public final class Empty {
    public static void main(String[] args) {}
}
