"""New passwords for resets: cryptographically random (``secrets``), from an alphabet without look-alikes
(no 0/O/o, 1/l/I, 5/S, 2/Z, |, `, quotes) so they can be read out over the phone, and always meeting Entra's
complexity rule (at least three of lower, upper, digit, symbol; 8-256 characters) — ours has all four.

``passphrase()`` gives words joined by hyphens with a capital and a number: longer, easier to type.
"""

from __future__ import annotations

import secrets

LOWER = "abcdefghijkmnpqrstuvwxyz"  # no l, o
UPPER = "ABCDEFGHJKLMNPQRTUVWXY"  # no I, O, S, Z
DIGITS = "346789"  # no 0, 1, 2, 5
SYMBOLS = "!#%+=?@*-"
ALPHABET = LOWER + UPPER + DIGITS + SYMBOLS
DEFAULT_LENGTH = 16
ENTRA_MIN, ENTRA_MAX = 8, 256

# Short, common, unambiguous words (no homophones of digits, nothing offensive): 9 bits each.
WORDS = """
acorn actor adobe agent album alley amber anchor angle apple apron arena argue armor arrow aspen atlas
attic autumn award bacon badge baker bamboo banjo barley basil basin beach beacon bench berry bison blade
blanket blaze blend bloom board bonus border bottle bounce bracket branch brave bread breeze brick bridge
brook brush bucket budget buffalo bundle burrow butter button cabin cable cactus camel camera candle canoe
canyon carbon cargo carpet castle cedar cellar cement chalk channel charm cherry chess chorus cider cinema
circle citrus clay cliff climb clock cloud clover coast cobalt cocoa comet compass copper coral cotton
cradle crane crater crayon credit creek crisp crown crystal cube curtain cushion daisy dancer dawn delta
denim desert diamond dinner dock dolphin domain donkey dragon drawer dream drift drum eagle easel echo
elbow ember empire engine equal ethics fabric falcon family fancy feather fence ferry fiddle field fiber
finch flame flannel flight flint floral flute focus forest fossil fountain frame frost galaxy garden garlic
gazelle gentle giant ginger glacier glass globe glove golden gorilla gospel gravel harbor harvest hazel
helmet heron hickory hollow honey horizon hotel humble island ivory jacket jaguar jasmine jelly jewel
jungle kayak kernel kettle kitten ladder lagoon lantern laptop laser lemon lentil letter lilac linen lizard
lobster locket lotus lumber magnet mango maple marble meadow melon mentor metal meteor mirror mitten
monkey mosaic motor muffin museum mustard napkin nectar needle nickel noble nutmeg oasis ocean olive
onion orange orbit orchid otter oyster paddle palace panda panther paper parade parcel parrot pasta pastry
peach peanut pebble pelican pencil pepper piano pickle pilot pine planet plaza pocket poem polar pony
poppy potato prairie prism pulse puzzle quartz quiet quilt rabbit radar radish rainbow raven recipe reef
ribbon ridge river robin rocket rose ruby saddle saffron salmon sandal satin scarf school scout shadow
shell shelter signal silver sketch sleigh slope socket solar spark sparrow spice spider spiral sponge
spruce squash stable stamp starling steam stone stream studio sugar summit sunset swallow swan sweater
table tablet talent tango teapot temple thistle thunder ticket tiger timber toast tomato topaz torch tower
trail tulip tunnel turtle valley velvet violet violin voyage wagon walnut walrus water willow window
winter wizard yellow yogurt zebra zenith
""".split()


def _shuffle(chars: list[str]) -> str:
    for index in range(len(chars) - 1, 0, -1):
        other = secrets.randbelow(index + 1)
        chars[index], chars[other] = chars[other], chars[index]
    return "".join(chars)


def random_password(length: int = DEFAULT_LENGTH) -> str:
    """``length`` characters (clamped to Entra's 8-256, at least 12 here), one of each class guaranteed."""
    length = max(12, min(int(length), ENTRA_MAX))
    chars = [secrets.choice(LOWER), secrets.choice(UPPER), secrets.choice(DIGITS), secrets.choice(SYMBOLS)]
    chars += [secrets.choice(ALPHABET) for _ in range(length - len(chars))]
    return _shuffle(chars)


def passphrase(words: int = 4, min_length: int = 0) -> str:
    """E.g. ``Maple-otter-quartz-lantern-47``: capitalised first word, hyphens, two digits; at least
    ``min_length`` characters (another word is added until it is)."""
    count = max(3, words)
    chosen = [secrets.choice(WORDS) for _ in range(count)]
    number = "".join(secrets.choice(DIGITS) for _ in range(2))
    while len("-".join(chosen)) + 3 < max(min_length, ENTRA_MIN):
        chosen.append(secrets.choice(WORDS))
    chosen[0] = chosen[0].capitalize()
    return "-".join(chosen) + "-" + number


def meets_entra_complexity(password: str) -> bool:
    if not ENTRA_MIN <= len(password) <= ENTRA_MAX:
        return False
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
               any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]  # fmt: skip
    return sum(classes) >= 3
