"""The descriptor catalog: every distinct (name, merchant, category, channel) a transaction can carry.

A transaction stores only an index into this catalog; the text columns are filled in one vectorized take
at the end. Merchant groups are disjoint on purpose: a merchant used for habitual purchases never appears
as a subscription or a one-off, so the recurring-stream detector sees exactly the streams we planted.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
from faker import Faker

from spendsense import paths, schema

# --- merchant groups -------------------------------------------------------------------------------------
# (merchant_name, raw transaction name, pfc_detailed)
GROCERS = [
    ("Safeway", "SAFEWAY #1234", "FOOD_AND_DRINK_GROCERIES"),
    ("Kroger", "KROGER #0456", "FOOD_AND_DRINK_GROCERIES"),
    ("Whole Foods Market", "WHOLEFDS MKT 10233", "FOOD_AND_DRINK_GROCERIES"),
    ("Trader Joe's", "TRADER JOE S #552", "FOOD_AND_DRINK_GROCERIES"),
    ("Aldi", "ALDI 72031", "FOOD_AND_DRINK_GROCERIES"),
    ("Publix", "PUBLIX SUPER MAR 1421", "FOOD_AND_DRINK_GROCERIES"),
    ("H-E-B", "H-E-B #622", "FOOD_AND_DRINK_GROCERIES"),
    ("Wegmans", "WEGMANS #093", "FOOD_AND_DRINK_GROCERIES"),
    ("Sprouts Farmers Market", "SPROUTS FARMERS MAR", "FOOD_AND_DRINK_GROCERIES"),
    ("Food Lion", "FOOD LION #2210", "FOOD_AND_DRINK_GROCERIES"),
    ("Giant Eagle", "GIANT EAGLE #4411", "FOOD_AND_DRINK_GROCERIES"),
    ("Albertsons", "ALBERTSONS #0178", "FOOD_AND_DRINK_GROCERIES"),
]
GAS_STATIONS = [
    ("Shell", "SHELL OIL 57442", "TRANSPORTATION_GAS"),
    ("Chevron", "CHEVRON 0092731", "TRANSPORTATION_GAS"),
    ("ExxonMobil", "EXXONMOBIL 4471", "TRANSPORTATION_GAS"),
    ("BP", "BP#9402113", "TRANSPORTATION_GAS"),
    ("Speedway", "SPEEDWAY 03311", "TRANSPORTATION_GAS"),
    ("Circle K", "CIRCLE K 2708", "TRANSPORTATION_GAS"),
    ("Valero", "VALERO 1822", "TRANSPORTATION_GAS"),
    ("Sunoco", "SUNOCO 0361", "TRANSPORTATION_GAS"),
    ("Wawa", "WAWA 8123", "TRANSPORTATION_GAS"),
    ("QuikTrip", "QT 741", "TRANSPORTATION_GAS"),
]
RESTAURANTS = [
    ("Olive Garden", "OLIVE GARDEN 0021", "FOOD_AND_DRINK_RESTAURANT"),
    ("Applebee's", "APPLEBEES 8821", "FOOD_AND_DRINK_RESTAURANT"),
    ("Panera Bread", "PANERA BREAD #601", "FOOD_AND_DRINK_RESTAURANT"),
    ("Texas Roadhouse", "TEXAS ROADHOUSE #2", "FOOD_AND_DRINK_RESTAURANT"),
    ("The Cheesecake Factory", "CHEESECAKE FACTORY", "FOOD_AND_DRINK_RESTAURANT"),
    ("Chili's", "CHILIS 1187", "FOOD_AND_DRINK_RESTAURANT"),
    ("Red Lobster", "RED LOBSTER 0655", "FOOD_AND_DRINK_RESTAURANT"),
    ("P.F. Chang's", "PF CHANGS #9", "FOOD_AND_DRINK_RESTAURANT"),
    ("Buffalo Wild Wings", "BWW #3321", "FOOD_AND_DRINK_RESTAURANT"),
    ("Outback Steakhouse", "OUTBACK 4410", "FOOD_AND_DRINK_RESTAURANT"),
]
COFFEE_FAST_FOOD = [
    ("Starbucks", "STARBUCKS STORE 09812", "FOOD_AND_DRINK_COFFEE"),
    ("Dunkin'", "DUNKIN #343921", "FOOD_AND_DRINK_COFFEE"),
    ("Peet's Coffee", "PEETS 0221", "FOOD_AND_DRINK_COFFEE"),
    ("Dutch Bros", "DUTCH BROS 221", "FOOD_AND_DRINK_COFFEE"),
    ("McDonald's", "MCDONALD'S F1102", "FOOD_AND_DRINK_FAST_FOOD"),
    ("Taco Bell", "TACO BELL #3004", "FOOD_AND_DRINK_FAST_FOOD"),
    ("Chick-fil-A", "CHICK-FIL-A #01721", "FOOD_AND_DRINK_FAST_FOOD"),
    ("Chipotle", "CHIPOTLE 1872", "FOOD_AND_DRINK_FAST_FOOD"),
]
# (merchant_name, raw name, pfc_detailed, channel, low $, high $)
ONE_OFFS = [
    ("Best Buy", "BEST BUY 00012", "GENERAL_MERCHANDISE_ELECTRONICS", "in store", 25, 600),
    ("Apple", "APPLE STORE R102", "GENERAL_MERCHANDISE_ELECTRONICS", "in store", 20, 900),
    ("Home Depot", "THE HOME DEPOT #0611", "HOME_IMPROVEMENT_HARDWARE", "in store", 15, 400),
    ("Lowe's", "LOWES #01822", "HOME_IMPROVEMENT_HARDWARE", "in store", 15, 350),
    ("Ace Hardware", "ACE HDWE 14402", "HOME_IMPROVEMENT_HARDWARE", "in store", 8, 120),
    (
        "Sherwin-Williams",
        "SHERWIN WILLIAMS 7711",
        "HOME_IMPROVEMENT_REPAIR_AND_MAINTENANCE",
        "in store",
        30,
        250,
    ),
    ("IKEA", "IKEA US 211", "HOME_IMPROVEMENT_FURNITURE", "in store", 30, 700),
    ("Wayfair", "WAYFAIR*4400213", "HOME_IMPROVEMENT_FURNITURE", "online", 40, 800),
    ("Crate & Barrel", "CRATE&BARREL 0452", "HOME_IMPROVEMENT_FURNITURE", "in store", 25, 500),
    ("Macy's", "MACYS .COM", "GENERAL_MERCHANDISE_DEPARTMENT_STORES", "online", 20, 300),
    ("Nordstrom", "NORDSTROM #0427", "GENERAL_MERCHANDISE_DEPARTMENT_STORES", "in store", 30, 400),
    ("Kohl's", "KOHLS #1120", "GENERAL_MERCHANDISE_DEPARTMENT_STORES", "in store", 15, 200),
    ("TJ Maxx", "TJMAXX #0781", "GENERAL_MERCHANDISE_DISCOUNT_STORES", "in store", 10, 150),
    ("Ross", "ROSS STORES #112", "GENERAL_MERCHANDISE_DISCOUNT_STORES", "in store", 10, 120),
    ("Dollar General", "DOLLAR GENERAL #1181", "GENERAL_MERCHANDISE_DISCOUNT_STORES", "in store", 5, 60),
    ("Dollar Tree", "DOLLAR TREE 4410", "GENERAL_MERCHANDISE_DISCOUNT_STORES", "in store", 5, 40),
    ("Old Navy", "OLD NAVY US 5521", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "in store", 15, 150),
    ("Gap", "GAP US 1023", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "in store", 20, 180),
    ("Nike", "NIKE.COM", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "online", 30, 250),
    ("Zara", "ZARA USA 3321", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "in store", 25, 220),
    ("Uniqlo", "UNIQLO USA", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "online", 15, 160),
    ("H&M", "H&M 0199", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "in store", 15, 140),
    ("Foot Locker", "FOOT LOCKER #22", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "in store", 40, 220),
    ("DSW", "DSW #0341", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "in store", 30, 180),
    (
        "Kay Jewelers",
        "KAY JEWELERS 0412",
        "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES",
        "in store",
        60,
        900,
    ),
    ("Sephora", "SEPHORA.COM", "PERSONAL_CARE_HAIR_AND_BEAUTY", "online", 15, 180),
    ("Ulta Beauty", "ULTA #0442", "PERSONAL_CARE_HAIR_AND_BEAUTY", "in store", 12, 150),
    ("Great Clips", "GREAT CLIPS #9021", "PERSONAL_CARE_HAIR_AND_BEAUTY", "in store", 18, 45),
    ("Supercuts", "SUPERCUTS #4421", "PERSONAL_CARE_HAIR_AND_BEAUTY", "in store", 20, 55),
    ("CVS Pharmacy", "CVS/PHARMACY #01234", "MEDICAL_PHARMACIES_AND_SUPPLEMENTS", "in store", 6, 90),
    ("Walgreens", "WALGREENS #1002", "MEDICAL_PHARMACIES_AND_SUPPLEMENTS", "in store", 6, 90),
    ("Rite Aid", "RITE AID STORE - 0210", "MEDICAL_PHARMACIES_AND_SUPPLEMENTS", "in store", 6, 70),
    ("Quest Diagnostics", "QUEST DIAGNOSTICS", "MEDICAL_PRIMARY_CARE", "online", 40, 300),
    ("MinuteClinic", "MINUTECLINIC 221", "MEDICAL_PRIMARY_CARE", "in store", 60, 180),
    ("Aspen Dental", "ASPEN DENTAL 0921", "MEDICAL_DENTAL_CARE", "in store", 80, 600),
    ("LensCrafters", "LENSCRAFTERS #0431", "MEDICAL_EYE_CARE", "in store", 60, 450),
    ("Banfield Pet Hospital", "BANFIELD PET HOSP 0871", "MEDICAL_VETERINARY_SERVICES", "in store", 60, 500),
    ("Petco", "PETCO 1421", "GENERAL_MERCHANDISE_PET_SUPPLIES", "in store", 10, 120),
    ("PetSmart", "PETSMART # 0331", "GENERAL_MERCHANDISE_PET_SUPPLIES", "in store", 10, 130),
    (
        "Barnes & Noble",
        "BARNES & NOBLE #2602",
        "GENERAL_MERCHANDISE_BOOKSTORES_AND_NEWSSTANDS",
        "in store",
        8,
        80,
    ),
    ("Staples", "STAPLES 00102", "GENERAL_MERCHANDISE_OFFICE_SUPPLIES", "in store", 8, 150),
    ("Office Depot", "OFFICE DEPOT #2231", "GENERAL_MERCHANDISE_OFFICE_SUPPLIES", "in store", 8, 150),
    (
        "Dick's Sporting Goods",
        "DICK'S CLOTHING&SPORTIN",
        "GENERAL_MERCHANDISE_SPORTING_GOODS",
        "in store",
        20,
        300,
    ),
    ("REI", "REI #0012", "GENERAL_MERCHANDISE_SPORTING_GOODS", "in store", 20, 400),
    ("Michaels", "MICHAELS STORES 2213", "GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES", "in store", 8, 90),
    ("Party City", "PARTY CITY 0931", "GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES", "in store", 10, 120),
    ("1-800-Flowers", "1800FLOWERS.COM", "GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES", "online", 40, 120),
    (
        "Bath & Body Works",
        "BATH & BODY WORKS 0112",
        "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
        "in store",
        10,
        90,
    ),
    ("Etsy", "ETSY.COM - SHOP 2231", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "online", 10, 150),
    ("eBay", "EBAY O*22-10032", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "online", 10, 300),
    ("7-Eleven", "7-ELEVEN 33412", "GENERAL_MERCHANDISE_CONVENIENCE_STORES", "in store", 4, 30),
    ("Total Wine", "TOTAL WINE #1102", "FOOD_AND_DRINK_BEER_WINE_AND_LIQUOR", "in store", 15, 160),
    ("GameStop", "GAMESTOP #4109", "ENTERTAINMENT_VIDEO_GAMES", "in store", 20, 300),
    ("Steam", "STEAMGAMES.COM 4259522", "ENTERTAINMENT_VIDEO_GAMES", "online", 5, 70),
    ("AMC Theatres", "AMC 2110 ONLINE", "ENTERTAINMENT_TV_AND_MOVIES", "online", 12, 60),
    ("Regal Cinemas", "REGAL CINEMAS 0412", "ENTERTAINMENT_TV_AND_MOVIES", "in store", 12, 60),
    (
        "Ticketmaster",
        "TICKETMASTER",
        "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "online",
        40,
        400,
    ),
    (
        "StubHub",
        "STUBHUB INC",
        "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "online",
        40,
        350,
    ),
    ("Dave & Buster's", "DAVE & BUSTERS #21", "ENTERTAINMENT_OTHER_ENTERTAINMENT", "in store", 20, 120),
    ("Delta Air Lines", "DELTA AIR 0062", "TRAVEL_FLIGHTS", "online", 120, 900),
    ("United Airlines", "UNITED 0162", "TRAVEL_FLIGHTS", "online", 120, 900),
    ("Southwest Airlines", "SOUTHWES 5262", "TRAVEL_FLIGHTS", "online", 90, 600),
    ("American Airlines", "AMERICAN AIR0012", "TRAVEL_FLIGHTS", "online", 120, 900),
    ("Marriott", "MARRIOTT 33712", "TRAVEL_LODGING", "in store", 120, 800),
    ("Hilton", "HILTON HOTELS 0211", "TRAVEL_LODGING", "in store", 110, 700),
    ("Airbnb", "AIRBNB * HMQ2A3", "TRAVEL_LODGING", "online", 100, 1000),
    ("Hertz", "HERTZ RENT-A-CAR", "TRAVEL_RENTAL_CARS", "in store", 60, 400),
    ("Enterprise Rent-A-Car", "ENTERPRISE RENT-A-CAR", "TRAVEL_RENTAL_CARS", "in store", 60, 400),
    ("Amtrak", "AMTRAK .COM 2110", "TRANSPORTATION_PUBLIC_TRANSIT", "online", 25, 200),
    ("Uber", "UBER *TRIP", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "online", 8, 60),
    ("Lyft", "LYFT *RIDE THU 8PM", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "online", 8, 60),
    ("ParkMobile", "PARKMOBILE", "TRANSPORTATION_PARKING", "online", 3, 30),
    ("E-ZPass", "E-ZPASS REPLENISH", "TRANSPORTATION_TOLLS", "online", 25, 50),
    ("Lime", "LIME*RIDE", "TRANSPORTATION_BIKES_AND_SCOOTERS", "online", 3, 15),
    ("Jiffy Lube", "JIFFY LUBE #1402", "GENERAL_SERVICES_AUTOMOTIVE", "in store", 40, 150),
    ("Midas", "MIDAS #0911", "GENERAL_SERVICES_AUTOMOTIVE", "in store", 80, 700),
    ("Firestone Complete Auto Care", "FIRESTONE #022110", "GENERAL_SERVICES_AUTOMOTIVE", "in store", 80, 900),
    ("The UPS Store", "THE UPS STORE 4411", "GENERAL_SERVICES_POSTAGE_AND_SHIPPING", "in store", 8, 80),
    ("USPS", "USPS PO 0402110", "GENERAL_SERVICES_POSTAGE_AND_SHIPPING", "in store", 5, 40),
    (
        "H&R Block",
        "H&R BLOCK 0421",
        "GENERAL_SERVICES_ACCOUNTING_AND_FINANCIAL_PLANNING",
        "in store",
        60,
        300,
    ),
    ("American Red Cross", "AMERICAN RED CROSS", "GOVERNMENT_AND_NON_PROFIT_DONATIONS", "online", 10, 150),
    ("Goodwill", "GOODWILL #0331", "GENERAL_MERCHANDISE_DISCOUNT_STORES", "in store", 5, 60),
    (
        "DMV",
        "DMV ONLINE RENEWAL",
        "GOVERNMENT_AND_NON_PROFIT_GOVERNMENT_DEPARTMENTS_AND_AGENCIES",
        "online",
        30,
        250,
    ),
    ("Pottery Barn", "POTTERY BARN #0201", "HOME_IMPROVEMENT_FURNITURE", "in store", 40, 600),
    (
        "Williams Sonoma",
        "WILLIAMS-SONOMA 0110",
        "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
        "in store",
        20,
        300,
    ),
    ("Hobby Lobby", "HOBBY-LOBBY #0442", "GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES", "in store", 8, 90),
    ("Warby Parker", "WARBY PARKER", "MEDICAL_EYE_CARE", "online", 95, 300),
]
# Big-box and online stores used only for the statement-floor top-ups (never elsewhere).
FLOOR_STORES = [
    ("Amazon", "AMAZON MKTPL*2K4TR1", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "online"),
    ("Walmart", "WAL-MART #3012", "GENERAL_MERCHANDISE_SUPERSTORES", "in store"),
    ("Target", "TARGET 00021", "GENERAL_MERCHANDISE_SUPERSTORES", "in store"),
    ("Costco", "COSTCO WHSE #0112", "GENERAL_MERCHANDISE_SUPERSTORES", "in store"),
    ("Sam's Club", "SAMSCLUB #6421", "GENERAL_MERCHANDISE_SUPERSTORES", "in store"),
    ("BJ's Wholesale Club", "BJS WHOLESALE #0171", "GENERAL_MERCHANDISE_SUPERSTORES", "in store"),
    ("Meijer", "MEIJER # 221", "GENERAL_MERCHANDISE_SUPERSTORES", "in store"),
    ("Fred Meyer", "FRED-MEYER #0643", "GENERAL_MERCHANDISE_SUPERSTORES", "in store"),
    ("Walmart.com", "WALMART.COM AA", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "online"),
    ("Target.com", "TARGET.COM *", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "online"),
    ("Newegg", "NEWEGG INC", "GENERAL_MERCHANDISE_ELECTRONICS", "online"),
    ("B&H Photo", "B&H PHOTO 800-606-6969", "GENERAL_MERCHANDISE_ELECTRONICS", "online"),
    ("Overstock", "OVERSTOCK.COM", "HOME_IMPROVEMENT_FURNITURE", "online"),
    ("Zappos", "ZAPPOS.COM", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "online"),
    ("Chewy", "CHEWY.COM", "GENERAL_MERCHANDISE_PET_SUPPLIES", "online"),
    ("Menards", "MENARDS 3012", "HOME_IMPROVEMENT_HARDWARE", "in store"),
]
# (merchant_name, raw name, pfc_detailed, cadence, price $)  -- stable amounts
SUBSCRIPTIONS = [
    ("Netflix", "NETFLIX.COM", "ENTERTAINMENT_TV_AND_MOVIES", "monthly", 15.49),
    ("Hulu", "HULU 877-8244858", "ENTERTAINMENT_TV_AND_MOVIES", "monthly", 17.99),
    ("Disney+", "DISNEYPLUS", "ENTERTAINMENT_TV_AND_MOVIES", "monthly", 13.99),
    ("Max", "MAX.COM", "ENTERTAINMENT_TV_AND_MOVIES", "monthly", 16.99),
    ("Peacock", "PEACOCK PREMIUM", "ENTERTAINMENT_TV_AND_MOVIES", "monthly", 7.99),
    ("Spotify", "SPOTIFY USA", "ENTERTAINMENT_MUSIC_AND_AUDIO", "monthly", 11.99),
    ("Apple Music", "APPLE.COM/BILL", "ENTERTAINMENT_MUSIC_AND_AUDIO", "monthly", 10.99),
    ("Audible", "AUDIBLE*US", "ENTERTAINMENT_MUSIC_AND_AUDIO", "monthly", 14.95),
    ("YouTube Premium", "GOOGLE *YOUTUBEPREMIUM", "ENTERTAINMENT_TV_AND_MOVIES", "monthly", 13.99),
    ("Xbox Game Pass", "MICROSOFT*XBOX", "ENTERTAINMENT_VIDEO_GAMES", "monthly", 16.99),
    ("PlayStation Plus", "PLAYSTATION NETWORK", "ENTERTAINMENT_VIDEO_GAMES", "monthly", 9.99),
    ("Adobe", "ADOBE *CREATIVE CLD", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "monthly", 59.99),
    ("Microsoft 365", "MICROSOFT*365 PERSONAL", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "monthly", 9.99),
    ("Dropbox", "DROPBOX*PLUS", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "monthly", 11.99),
    ("iCloud", "APPLE.COM/BILL ICLOUD", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "monthly", 2.99),
    (
        "The New York Times",
        "NYTIMES DIGITAL",
        "GENERAL_MERCHANDISE_BOOKSTORES_AND_NEWSSTANDS",
        "monthly",
        17.00,
    ),
    (
        "Planet Fitness",
        "PLANET FITNESS CLUB FEES",
        "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS",
        "monthly",
        24.99,
    ),
    ("Peloton", "PELOTON* MEMBERSHIP", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS", "monthly", 44.00),
    ("Verizon Wireless", "VERIZON WIRELESS PAYMENTS", "RENT_AND_UTILITIES_TELEPHONE", "monthly", 80.00),
    ("T-Mobile", "T-MOBILE AUTOPAY", "RENT_AND_UTILITIES_TELEPHONE", "monthly", 70.00),
    ("Xfinity", "COMCAST XFINITY", "RENT_AND_UTILITIES_INTERNET_AND_CABLE", "monthly", 89.99),
    ("Spectrum", "SPECTRUM 855-707-7328", "RENT_AND_UTILITIES_INTERNET_AND_CABLE", "monthly", 74.99),
    ("GEICO", "GEICO *AUTO", "GENERAL_SERVICES_INSURANCE", "monthly", 132.00),
    ("Lemonade", "LEMONADE INSURANCE", "GENERAL_SERVICES_INSURANCE", "monthly", 18.00),
    ("Amazon Prime", "AMAZON PRIME*MEMBERSHIP", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "monthly", 14.99),
    ("Mister Car Wash", "MISTER CAR WASH UWC", "GENERAL_SERVICES_AUTOMOTIVE", "monthly", 29.99),
    ("HelloFresh", "HELLOFRESH US", "FOOD_AND_DRINK_OTHER_FOOD_AND_DRINK", "weekly", 69.99),
    ("Factor", "FACTOR75 MEALS", "FOOD_AND_DRINK_OTHER_FOOD_AND_DRINK", "weekly", 59.94),
    ("LawnStarter", "LAWNSTARTER WEEKLY", "HOME_IMPROVEMENT_REPAIR_AND_MAINTENANCE", "weekly", 45.00),
    ("Patreon", "PATREON* MEMBERSHIP", "ENTERTAINMENT_OTHER_ENTERTAINMENT", "weekly", 5.00),
]
UTILITIES = [
    ("PG&E", "PGANDE WEB ONLINE", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
    ("Con Edison", "CON ED OF NY INTELL CK", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
    ("Duke Energy", "DUKE ENERGY PAYMENT", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
    ("Xcel Energy", "XCEL ENERGY-NSP", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
    ("ComEd", "COMED WEB PAY", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
    ("Georgia Power", "GEORGIA POWER", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
    ("Florida Power & Light", "FPL E-PAY", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
    ("Dominion Energy", "DOMINION ENERGY VA", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
]
LANDLORDS = [  # (merchant_name or None, raw name)
    ("Greystar", "GREYSTAR RENT PMT"),
    ("Equity Residential", "EQUITY RESIDENTIAL RENT"),
    ("AvalonBay", "AVALONBAY COMMUN RENT"),
    ("Camden Property Trust", "CAMDEN LIVING RENT"),
    ("MAA", "MAA RENT PAYMENT"),
    (None, "ZELLE PAYMENT TO LANDLORD"),
    (None, "RENT PAYMENT WEB ID 2210"),
]
MORTGAGE_SERVICERS = [
    "Rocket Mortgage",
    "Mr. Cooper",
    "PennyMac",
    "Wells Fargo Home Mortgage",
    "Chase Home Lending",
    "U.S. Bank Home Mortgage",
]
STUDENT_SERVICERS = ["Nelnet", "MOHELA", "Aidvantage", "EdFinancial"]
CAR_LENDERS = [
    "Toyota Financial Services",
    "Ally Auto",
    "Honda Financial Services",
    "Ford Credit",
    "Capital One Auto Finance",
]
CARD_ISSUERS = [
    "Chase",
    "Capital One",
    "Citi",
    "Discover",
    "American Express",
    "Bank of America",
    "Wells Fargo",
    "U.S. Bank",
]
GIG_PAYERS = [
    "UPWORK ESCROW INC",
    "FIVERR INTL",
    "TOPTAL LLC",
    "FREELANCER.COM",
    "CONTRA PAYOUTS",
    "99DESIGNS",
    "CATERING CO-OP",
    "STUDIO CLIENT ACH",
]
BUSINESS_SUBSCRIPTIONS = [
    ("QuickBooks", "INTUIT *QBOOKS ONLINE", "GENERAL_SERVICES_ACCOUNTING_AND_FINANCIAL_PLANNING", 30.00),
    ("Google Workspace", "GOOGLE *GSUITE_BIZ", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", 14.40),
    ("Slack", "SLACK T0123ABC", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", 8.75),
    ("Shopify", "SHOPIFY* 1822319", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", 39.00),
]
BUSINESS_SUPPLIES = [
    ("Uline", "ULINE *SHIP SUPPLIES", "GENERAL_MERCHANDISE_OFFICE_SUPPLIES"),
    ("Grainger", "GRAINGER 0221", "HOME_IMPROVEMENT_HARDWARE"),
    ("Vistaprint", "VISTAPRINT.COM", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES"),
    ("FedEx", "FEDEX 7711021", "GENERAL_SERVICES_POSTAGE_AND_SHIPPING"),
]

N_EMPLOYERS = 150


def entity_id(merchant: str) -> str:
    """A stable, Plaid-looking merchant_entity_id (37 alphanumerics) derived from the merchant's name."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digest = hashlib.sha256(("spendsense-merchant:" + merchant).encode()).digest()
    digest += hashlib.sha256(digest).digest()
    return "".join(alphabet[b % 62] for b in digest[:37])


def _primary_of() -> dict[str, str]:
    """detailed -> primary code from the taxonomy files (v1, and v2 via the crosswalk)."""
    out = {}
    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v1.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["DETAILED"].strip()] = row["PRIMARY"].strip()
    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v2_v1_crosswalk.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["pfc_v2_detailed"].strip(), row["pfc_v2_primary"].strip())
    return out


@dataclass
class Catalog:
    """Descriptor columns (one entry per distinct descriptor) and named groups of descriptor indices."""

    name: list[str] = field(default_factory=list)
    merchant_name: list[str | None] = field(default_factory=list)
    merchant_entity_id: list[str | None] = field(default_factory=list)
    pfc_primary: list[str] = field(default_factory=list)
    pfc_detailed: list[str] = field(default_factory=list)
    payment_channel: list[str] = field(default_factory=list)
    confidence: list[str] = field(default_factory=list)
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, np.ndarray] = field(default_factory=dict)  # per-group numeric attributes

    def add(
        self,
        name: str,
        merchant: str | None,
        detailed: str,
        channel: str,
        confidence: str,
        primary_of: dict[str, str],
    ) -> int:
        """Append one descriptor and return its index."""
        if detailed not in primary_of:
            raise ValueError(f"category {detailed} is not in the PFC taxonomy")
        self.name.append(name)
        self.merchant_name.append(merchant)
        self.merchant_entity_id.append(entity_id(merchant) if merchant else None)
        self.pfc_primary.append(primary_of[detailed])
        self.pfc_detailed.append(detailed)
        self.payment_channel.append(channel)
        self.confidence.append(confidence)
        return len(self.name) - 1

    def group(self, key: str) -> np.ndarray:
        """Descriptor indices of a named group."""
        return self.groups[key]

    def one(self, key: str) -> int:
        """The single descriptor of a named singleton group."""
        return int(self.groups[key][0])

    def __len__(self) -> int:
        return len(self.name)


def _payroll_name(company: str) -> str:
    """Employer name as it appears on a payroll line: upper case, letters, digits and spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[^A-Z0-9 ]", " ", company.upper())).strip()


def build_catalog(seed: int) -> Catalog:
    """The full descriptor catalog; employer names come from Faker seeded with the run's seed."""
    primary_of = _primary_of()
    cat = Catalog()

    def group(key: str, rows, channel: str = "in store", confidence: str = "VERY_HIGH") -> None:
        idx = [
            cat.add(raw, merchant, detailed, channel, confidence, primary_of)
            for merchant, raw, detailed in rows
        ]
        cat.groups[key] = np.array(idx, dtype=np.int32)

    group("grocery", GROCERS)
    group("gas", GAS_STATIONS)
    group("dining", RESTAURANTS, confidence="HIGH")
    group("coffee", COFFEE_FAST_FOOD)
    cat.groups["oneoff"] = np.array(
        [cat.add(raw, m, d, ch, "HIGH", primary_of) for m, raw, d, ch, _, _ in ONE_OFFS], dtype=np.int32
    )
    cat.attrs["oneoff_low"] = np.array([r[4] for r in ONE_OFFS], dtype=float)
    cat.attrs["oneoff_high"] = np.array([r[5] for r in ONE_OFFS], dtype=float)
    cat.groups["floor"] = np.array(
        [cat.add(raw, m, d, ch, "VERY_HIGH", primary_of) for m, raw, d, ch in FLOOR_STORES], dtype=np.int32
    )
    cat.groups["subscription"] = np.array(
        [cat.add(raw, m, d, "online", "VERY_HIGH", primary_of) for m, raw, d, _, _ in SUBSCRIPTIONS],
        dtype=np.int32,
    )
    cat.attrs["subscription_price"] = np.array([r[4] for r in SUBSCRIPTIONS], dtype=float)
    cat.attrs["subscription_weekly"] = np.array([r[3] == "weekly" for r in SUBSCRIPTIONS], dtype=bool)
    group("utility", UTILITIES, channel="online", confidence="HIGH")
    cat.groups["rent"] = np.array(
        [
            cat.add(raw, m, "RENT_AND_UTILITIES_RENT", "other", "HIGH" if m else "MEDIUM", primary_of)
            for m, raw in LANDLORDS
        ],
        dtype=np.int32,
    )
    cat.groups["mortgage"] = np.array(
        [
            cat.add(
                f"{s.upper()} MORTGAGE PMT",
                s,
                "LOAN_PAYMENTS_MORTGAGE_PAYMENT",
                "other",
                "VERY_HIGH",
                primary_of,
            )
            for s in MORTGAGE_SERVICERS
        ],
        dtype=np.int32,
    )
    cat.groups["student"] = np.array(
        [
            cat.add(
                f"{s.upper()} STUDENT LN PAYMENT",
                s,
                "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT",
                "other",
                "VERY_HIGH",
                primary_of,
            )
            for s in STUDENT_SERVICERS
        ],
        dtype=np.int32,
    )
    cat.groups["car"] = np.array(
        [
            cat.add(f"{s.upper()} AUTO PYMT", s, "LOAN_PAYMENTS_CAR_PAYMENT", "other", "HIGH", primary_of)
            for s in CAR_LENDERS
        ],
        dtype=np.int32,
    )
    # card payments: checking side names the issuer; card side is the issuer's generic thank-you line
    cat.groups["card_payment_out"] = np.array(
        [
            cat.add(
                f"{s.upper()} CREDIT CRD AUTOPAY",
                None,
                "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
                "other",
                "VERY_HIGH",
                primary_of,
            )
            for s in CARD_ISSUERS
        ],
        dtype=np.int32,
    )
    cat.groups["card_payment_in"] = np.array(
        [
            cat.add(
                "AUTOMATIC PAYMENT - THANK YOU",
                None,
                "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
                "other",
                "VERY_HIGH",
                primary_of,
            )
        ],
        dtype=np.int32,
    )
    cat.groups["interest"] = np.array(
        [
            cat.add(
                "INTEREST CHARGE ON PURCHASES",
                None,
                "BANK_FEES_INTEREST_CHARGE",
                "other",
                "VERY_HIGH",
                primary_of,
            )
        ],
        dtype=np.int32,
    )
    cat.groups["overdraft_fee"] = np.array(
        [cat.add("OVERDRAFT ITEM FEE", None, "BANK_FEES_OVERDRAFT_FEES", "other", "VERY_HIGH", primary_of)],
        dtype=np.int32,
    )
    cat.groups["nsf_fee"] = np.array(
        [
            cat.add(
                "NSF RETURNED ITEM FEE",
                None,
                "BANK_FEES_INSUFFICIENT_FUNDS",
                "other",
                "VERY_HIGH",
                primary_of,
            )
        ],
        dtype=np.int32,
    )
    cat.groups["late_fee"] = np.array(
        [cat.add("LATE FEE", None, "BANK_FEES_LATE_FEES", "other", "HIGH", primary_of)], dtype=np.int32
    )
    cat.groups["to_savings"] = np.array(
        [
            cat.add(
                "ONLINE TRANSFER TO SAVINGS", None, "TRANSFER_OUT_SAVINGS", "other", "VERY_HIGH", primary_of
            )
        ],
        dtype=np.int32,
    )
    cat.groups["savings_in"] = np.array(
        [
            cat.add(
                "ONLINE TRANSFER FROM CHECKING", None, "TRANSFER_IN_SAVINGS", "other", "VERY_HIGH", primary_of
            )
        ],
        dtype=np.int32,
    )
    cat.groups["savings_out"] = np.array(
        [
            cat.add(
                "ONLINE TRANSFER TO CHECKING",
                None,
                "TRANSFER_OUT_ACCOUNT_TRANSFER",
                "other",
                "VERY_HIGH",
                primary_of,
            )
        ],
        dtype=np.int32,
    )
    cat.groups["from_savings"] = np.array(
        [
            cat.add(
                "ONLINE TRANSFER FROM SAVINGS",
                None,
                "TRANSFER_IN_ACCOUNT_TRANSFER",
                "other",
                "VERY_HIGH",
                primary_of,
            )
        ],
        dtype=np.int32,
    )
    cat.groups["savings_interest"] = np.array(
        [cat.add("INTEREST PAID", None, "INCOME_INTEREST_EARNED", "other", "VERY_HIGH", primary_of)],
        dtype=np.int32,
    )
    cat.groups["atm"] = np.array(
        [
            cat.add(
                "ATM WITHDRAWAL 00412 MAIN ST",
                None,
                "TRANSFER_OUT_WITHDRAWAL",
                "in store",
                "VERY_HIGH",
                primary_of,
            )
        ],
        dtype=np.int32,
    )
    cat.groups["pension"] = np.array(
        [
            cat.add(
                "SSA TREAS 310 XXSOC SEC", None, "INCOME_RETIREMENT_PENSION", "other", "VERY_HIGH", primary_of
            )
        ],
        dtype=np.int32,
    )
    # employers (Faker, seeded): two payroll line formats per employer
    fake = Faker("en_US")
    fake.seed_instance(seed)
    employers = []
    while len(employers) < N_EMPLOYERS:
        name = _payroll_name(fake.company())
        if name not in employers:
            employers.append(name)
    idx = []
    for i, emp in enumerate(employers):
        raw = f"{emp} PAYROLL" if i % 2 == 0 else f"DIRECT DEP {emp}"
        idx.append(cat.add(raw, None, "INCOME_WAGES", "other", "VERY_HIGH", primary_of))
    cat.groups["employer"] = np.array(idx, dtype=np.int32)
    cat.groups["gig"] = np.array(
        [cat.add(f"{p} PAYOUT", None, "INCOME_WAGES", "other", "HIGH", primary_of) for p in GIG_PAYERS],
        dtype=np.int32,
    )
    # business accounts
    cat.groups["business_revenue"] = np.array(
        [cat.add("STRIPE TRANSFER ST-2K4T", "Stripe", "TRANSFER_IN_DEPOSIT", "other", "HIGH", primary_of)],
        dtype=np.int32,
    )
    cat.groups["business_subscription"] = np.array(
        [cat.add(raw, m, d, "online", "VERY_HIGH", primary_of) for m, raw, d, _ in BUSINESS_SUBSCRIPTIONS],
        dtype=np.int32,
    )
    cat.attrs["business_subscription_price"] = np.array([r[3] for r in BUSINESS_SUBSCRIPTIONS], dtype=float)
    group("business_supplies", BUSINESS_SUPPLIES, channel="online", confidence="HIGH")
    unknown = (set(cat.pfc_primary) | set(cat.pfc_detailed)) - schema.category_codes()
    if unknown:
        raise ValueError(f"catalog uses codes outside the PFC taxonomy: {sorted(unknown)}")
    return cat
