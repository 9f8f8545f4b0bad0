//! Which orders the demo submits and what happens to each: a seeded, repeatable plan.

/// What happens to an order in the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// All eight stages, shipped.
    Completes,
    /// The MES price calculation throws.
    PriceFails,
    /// The order is published to RabbitMQ and nobody consumes it.
    StuckInQueue,
    /// The MES price call starts and never returns.
    HangsInPricing,
    /// Manufactured, never shipped.
    AwaitsShipping,
}

/// One order of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOrder {
    /// `ORD-…`.
    pub order_id: String,
    /// A UUID.
    pub user_id: String,
    /// What happens to it.
    pub fate: Fate,
    /// Size of the uploaded 3D model, bytes.
    pub model_size: i64,
    /// Alloy, which decides the price.
    pub alloy: &'static str,
}

/// splitmix64: small, fast and the same on every platform, so a seed replays the same demo.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for this seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const ALLOYS: [&str; 4] = ["gold-750", "silver-925", "platinum-950", "rose-gold-585"];

fn draw_fate(rng: &mut Rng) -> Fate {
    match rng.below(100) {
        0..=64 => Fate::Completes,
        65..=79 => Fate::PriceFails,
        80..=86 => Fate::StuckInQueue,
        87..=93 => Fate::HangsInPricing,
        _ => Fate::AwaitsShipping,
    }
}

/// `orders` orders for `seed`. With four orders or more, each of price failure, stuck in the
/// queue and hung in pricing happens at least once, so every demo shows each kind of trouble.
pub fn plan(orders: usize, seed: u64) -> Vec<PlannedOrder> {
    let mut rng = Rng::new(seed);
    let mut planned: Vec<PlannedOrder> = (0..orders)
        .map(|i| {
            let a = rng.next_u64();
            let b = rng.next_u64();
            PlannedOrder {
                order_id: format!("ORD-{:04}", i + 1),
                user_id: format!(
                    "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                    a >> 32,
                    (a >> 16) & 0xffff,
                    a & 0xfff,
                    0x8000 | (b >> 48 & 0x3fff),
                    b & 0xffff_ffff_ffff
                ),
                fate: draw_fate(&mut rng),
                model_size: 200_000 + rng.below(4_800_000) as i64,
                alloy: ALLOYS[rng.below(ALLOYS.len() as u64) as usize],
            }
        })
        .collect();
    if orders >= 4 {
        const TROUBLE: [Fate; 3] = [Fate::PriceFails, Fate::StuckInQueue, Fate::HangsInPricing];
        for needed in TROUBLE {
            if planned.iter().any(|o| o.fate == needed) {
                continue;
            }
            // Any order can take it whose own fate is not the only one of a needed kind.
            let count = |f: Fate| planned.iter().filter(|o| o.fate == f).count();
            let spare: Vec<usize> = (0..planned.len())
                .filter(|&i| !TROUBLE.contains(&planned[i].fate) || count(planned[i].fate) > 1)
                .collect();
            let pick = spare[rng.below(spare.len() as u64) as usize];
            planned[pick].fate = needed;
        }
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_plan_other_seed_other_plan() {
        assert_eq!(plan(20, 7), plan(20, 7));
        assert_ne!(plan(20, 7), plan(20, 8));
    }

    #[test]
    fn every_kind_of_trouble_appears_from_four_orders() {
        for seed in 0..50 {
            let p = plan(4, seed);
            for fate in [Fate::PriceFails, Fate::StuckInQueue, Fate::HangsInPricing] {
                assert!(p.iter().any(|o| o.fate == fate), "seed {seed}: no {fate:?}");
            }
        }
    }

    #[test]
    fn ids_are_valid_for_the_schema() {
        for o in plan(30, 3) {
            ordertrace::schema::validate_order_id(&o.order_id).expect("order id");
            ordertrace::schema::normalize_user_id(&o.user_id).expect("user id");
        }
    }

    #[test]
    fn zero_orders_is_an_empty_plan() {
        assert!(plan(0, 1).is_empty());
    }
}
