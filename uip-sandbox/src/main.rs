fn main() {
    println!("uip-sandbox: not yet");
}
