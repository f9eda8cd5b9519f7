#!/usr/bin/env python3
"""Makes the trading-desk demo's campaigns (make demo-desk, docs/demo.md):
flights of DAYS local days from a Monday's local midnight in each
campaign's own zone, on engine time, and campaigns that use every desk
control — a daily budget per roll-over rule, time zones, a weekday office-
hours schedule, region and radius targeting, segment include and exclude, a
first-party list, frequency caps. Daily budgets are sized to the simulated
traffic so that pacing has to work: about a quarter of what a campaign could
buy if it bid on everything it is eligible for.

  desk_campaigns.py OUT_JSON OUT_LIST DAYS REQ_RATE CLOCK_RATE

Prints "FIRST_MS LAST_MS": the engine span the flights cover. The list
(OUT_LIST, one user id a line) is uploaded to the supervisor before the
flight and handed to beat-exsim (--list) for grading only.
"""
import datetime as dt
import json, os, sys, zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MONDAY = dt.date(2026, 3, 2)  # before any daylight-saving change of the zones used
WIN_SHARE = 0.25
LIST_ID = "crm-desk"
CPM = 0.9  # typical clearing CPM of the banner inventory, dollars

BANNERS = [(300, 250), (728, 90), (300, 600)]


def creatives(cid):
    return [{"crid": f"{cid}-{w}x{h}", "w": w, "h": h,
             "adm": f'<a href="${{CLICK_URL}}"><img src="https://cdn.{cid}.example/{w}x{h}.png" '
                    f'width="{w}" height="{h}"></a>',
             "landing": f"https://www.{cid}.example/landing?src=beat"} for w, h in BANNERS]


def local_midnight_ms(tz, day):
    z = zoneinfo.ZoneInfo(tz)
    return int(dt.datetime.combine(day, dt.time(0), z).timestamp() * 1000)


# id, zone, share of requests eligible (of the simulator's traffic: banner
# sizes, places, segments, consent), extra fields.
WEEKDAYS_9_17 = {d: ["09-17"] for d in ("mon", "tue", "wed", "thu", "fri")}
WEEKDAYS_9_17.update({"sat": [], "sun": []})
CAMPAIGNS = [
    ("desk-none", "UTC", 0.45 * 0.35 * 0.70 + 0.45 * 0.13 * 0.63,
     {"rollover": "none", "freq_cap": {"max": 2, "window_s": 86400},
      "targeting": {"regions": ["USA:NY", "USA:CA", "GBR:ENG"]}}),
    ("desk-next", "America/New_York", 0.45 * 8 / 24,
     {"rollover": "next_day", "schedule": WEEKDAYS_9_17}),
    ("desk-even", "Europe/Berlin", 0.45 * 0.59 * 0.8 * 0.9,
     {"rollover": "even", "freq_cap": {"max": 3, "window_s": 86400},
      "targeting": {"segments_include": [{"provider": "exsim-dmp",
                                          "ids": ["travel", "auto", "sports", "tech"]}],
                    "segments_exclude": [{"provider": "exsim-dmp2", "ids": ["student"]}]}}),
    # Flight budgets only: a first-party list, and places by radius.
    ("desk-crm", "Europe/London", None,
     {"targeting": {"lists_include": [LIST_ID]}}),
    ("desk-radius", "UTC", None,
     {"targeting": {"radius": [{"lat": 40.7128, "lon": -74.0060, "radius_km": 40},
                               {"lat": 51.5072, "lon": -0.1276, "radius_km": 40}]}}),
]


def make(days, req_rate, clock_rate):
    req_per_day = req_rate * 86400.0 / clock_rate
    out, first, last = [], None, None
    for cid, tz, elig, extra in CAMPAIGNS:
        start = local_midnight_ms(tz, MONDAY)
        end = local_midnight_ms(tz, MONDAY + dt.timedelta(days=days))
        c = {"id": cid, "advertiser": cid, "adomain": [f"{cid}.example"], "cat": ["IAB18"],
             "start_ms": start, "end_ms": end, "tz": tz,
             "base_bid_cpm_micros": 1500000, "max_bid_cpm_micros": 6000000,
             "creatives": creatives(cid)}
        if elig is not None:
            daily = max(100000, int(req_per_day * elig * CPM / 1000 * WIN_SHARE * 1e6))
            c["daily_budget_micros"] = daily
            c["budget_micros"] = daily * days
        else:
            c["budget_micros"] = max(100000, int(req_per_day * days * 0.02 * CPM / 1000 * 1e6))
        c.update(json.loads(json.dumps(extra)))
        out.append(c)
        first = start if first is None else min(first, start)
        last = end if last is None else max(last, end)
    return {"v": 4, "campaigns": out}, first, last


if __name__ == "__main__":
    dst, lst, days, req_rate, clock_rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        float(sys.argv[4]), float(sys.argv[5])
    doc, first, last = make(days, req_rate, clock_rate)
    json.dump(doc, open(dst, "w"), indent=1)
    users = int(os.environ.get("BEAT_EXSIM_USERS", "1000"))
    with open(lst, "w") as f:  # every fifth user: the advertiser's customers
        f.writelines(f"u{u}\n" for u in range(0, users, 5))
    print(first, last)
