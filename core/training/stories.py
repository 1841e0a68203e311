"""Simple stories written by a small program: English a tiny model can learn, word by word.

    text = generate_stories(20000, seed=0)      # the same text for the same seed
    print(write_story(random.Random(1)))        # one story

    Anna had a dog called Pimo. One day, Anna met Ben at the park. Then Anna gave Ben a red ball.
    Ben was happy. He said, "Thank you, Anna!" Pimo sat on the mat. ...

Every word comes from the short lists below (a few hundred common words), so a BPE tokenizer
trained on the stories gives most words one token each, while a word it never saw ("flumpish")
splits into pieces. The stories are built so that the things a language model learns first pay off:

- grammar: "The cat sat on the" is followed by something to sit on; "gave" by a person and a thing.
- pronouns that refer back: after "Ben", "he" and "his"; after "Anna", "she" and "her".
- copying (induction): each story has its own cast, a pet with a made-up name ("Pimo", split into
  pieces) and sometimes a made-up word, and mentions them again and again. Which name comes next
  can only be known by looking back in the story, so a head that copies earlier tokens pays.

Nothing here is copied from anywhere: the lists and sentence patterns were written for this project.
"""
from __future__ import annotations

import random

# -- the words ----------------------------------------------------------------------------------------
# person -> the pronoun that refers back to them
PEOPLE = {
    "Anna": "she", "Ben": "he", "Lily": "she", "Tom": "he", "Mia": "she", "Sam": "he", "Lucy": "she",
    "Max": "he", "Emma": "she", "Jack": "he", "Sara": "she", "Leo": "he", "Nora": "she", "Finn": "he",
    "Rosa": "she", "Omar": "he", "Zoe": "she", "Hugo": "he", "Ivy": "she", "Noah": "he", "Ruby": "she",
    "Eli": "he", "Maya": "she", "Theo": "he", "Lena": "she", "Otto": "he", "Iris": "she", "Felix": "he",
    "Clara": "she", "Oscar": "he", "Alice": "she", "Carl": "he", "Dora": "she", "Ravi": "he", "Tina": "she",
    "Pablo": "he", "Nina": "she", "Jonas": "he", "Kate": "she", "Adam": "he",
}
OBJECT_PRONOUN = {"she": "her", "he": "him"}
POSSESSIVE = {"she": "her", "he": "his"}

ANIMALS = ["cat", "dog", "bird", "fox", "rabbit", "duck", "frog", "horse", "cow", "pig", "mouse", "bear",
           "owl", "goat", "sheep", "turtle"]
PLACES = ["park", "garden", "beach", "forest", "school", "shop", "river", "farm", "hill", "library", "zoo",
          "market", "lake", "field", "town", "kitchen"]
# things a person can hold, give, lose and find
THINGS = ["ball", "book", "kite", "hat", "cake", "apple", "box", "cup", "toy", "boat", "map", "key", "drum",
          "shell", "flower", "stick", "bag", "coat", "ring", "letter", "lamp", "spoon", "shoe", "car", "train",
          "bike", "doll", "pencil", "bell", "basket"]
# things to sit on, lie on, or hide something under
SEATS = ["mat", "bed", "chair", "rug", "table", "floor", "step", "wall", "bench", "sofa", "log", "rock",
         "grass", "roof", "fence", "box"]
# things a lost thing can be found under
HIDING_PLACES = ["bed", "chair", "rug", "table", "sofa", "log", "rock", "box", "bench", "mat", "step", "basket"]
FOODS = ["apple", "cake", "plum", "muffin", "cookie", "banana", "carrot", "pie", "egg", "orange", "sandwich",
         "pear"]
COLOURS = ["red", "blue", "green", "yellow", "pink", "white", "black", "brown", "orange", "purple"]
SIZES = ["big", "small", "little", "old", "new", "shiny", "soft", "round", "tall", "funny"]
GOOD_FEELINGS = ["happy", "glad", "proud", "excited", "calm"]
BAD_FEELINGS = ["sad", "tired", "hungry", "scared", "angry", "sleepy", "cold"]
WEATHER = ["sunny", "rainy", "windy", "cold", "warm", "quiet", "busy"]
# (what you want to do, what you did): verbs that take a thing
ACTIONS = [("find", "found"), ("paint", "painted"), ("fix", "fixed"), ("wash", "washed"), ("carry", "carried"),
           ("open", "opened"), ("hide", "hid"), ("draw", "drew"), ("build", "built"), ("clean", "cleaned")]
# things a person or an animal does on its own, in the past
MOVES = ["ran", "jumped", "laughed", "smiled", "sang", "danced", "slept", "played", "waited", "walked"]
NUMBER_WORDS = {3: "three", 4: "four", 5: "five", 6: "six"}
TIME_WORDS = ["One day", "In the morning", "After lunch", "Later", "The next day", "That evening", "Soon"]

# Made-up names and words are pieced together from these, so they are new in every story.
SYLLABLES = ["pi", "mo", "zu", "ka", "lo", "ti", "bu", "ne", "ra", "fi", "do", "su", "wo", "ge", "ly", "ba"]
WORD_ENDINGS = ["x", "p", "n", "sh", "m", "k", "", "", ""]


# -- small grammar helpers ---------------------------------------------------------------------------
def article(word: str) -> str:
    """'a' or 'an' for the word that follows."""
    return "an" if word[0] in "aeiou" else "a"


def made_up_word(rng: random.Random, syllables: int) -> str:
    """A word no dictionary has, e.g. 'zukap': a few syllables and an ending."""
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)) + rng.choice(WORD_ENDINGS)


def say(words: str) -> str:
    """A sentence in speech marks, as it goes after 'said, '."""
    return f'"{words}"'


# -- the people in one story ---------------------------------------------------------------------------
class Cast:
    """Who a story is about: a hero, a friend, a pet with a made-up name, a thing, a place."""

    def __init__(self, rng: random.Random) -> None:
        self.hero, self.friend = rng.sample(sorted(PEOPLE), 2)
        self.pet_kind = rng.choice(ANIMALS)
        self.pet = made_up_word(rng, rng.choice((1, 2))).capitalize()
        self.thing = rng.choice(THINGS)
        self.colour = rng.choice(COLOURS)
        self.place = rng.choice(PLACES)

    def pronoun(self, person: str) -> str:
        return PEOPLE[person]

    def him_or_her(self, person: str) -> str:
        return OBJECT_PRONOUN[PEOPLE[person]]

    def his_or_her(self, person: str) -> str:
        return POSSESSIVE[PEOPLE[person]]

    def both(self, rng: random.Random) -> tuple[str, str]:
        """The two people in either order, so neither is always the one who acts."""
        return (self.hero, self.friend) if rng.random() < 0.6 else (self.friend, self.hero)


# -- episodes: a few sentences each ---------------------------------------------------------------------
def opening(cast: Cast, rng: random.Random) -> list[str]:
    hero, pet, kind, size = cast.hero, cast.pet, cast.pet_kind, rng.choice(SIZES)
    return rng.choice([
        [f"{hero} had {article(kind)} {kind} called {pet}.",
         f"{pet} was {rng.choice(SIZES)} and {rng.choice(COLOURS)}."],
        [f"Once upon a time, there was {article(size)} {size} {kind} called {pet}.",
         f"{pet} lived with {hero} near the {cast.place}."],
        [f"{hero} and {cast.friend} were friends.", f"{hero} had {article(kind)} {kind} called {pet}."],
        [f"This is a story about {hero} and {pet} the {kind}.",
         f"{cast.pronoun(hero).capitalize()} lived in {article(size)} {size} house near the {cast.place}."],
    ])


def meeting(cast: Cast, rng: random.Random) -> list[str]:
    first, second = cast.both(rng)
    where = rng.choice([f" at the {cast.place}", f" at the {rng.choice(PLACES)}", ""])
    return [
        f"{rng.choice(TIME_WORDS)}, {first} met {second}{where}.",
        rng.choice([f'{second} said, {say(f"Hello, {first}!")}',
                    f"{first} was {rng.choice(GOOD_FEELINGS)} to see {cast.him_or_her(second)}.",
                    f"They played with {cast.pet} all day."]),
    ]


def gift(cast: Cast, rng: random.Random) -> list[str]:
    giver, taker = cast.both(rng)
    thing, colour = cast.thing, cast.colour
    return [
        f"Then {giver} gave {taker} {article(colour)} {colour} {thing}.",
        f"{taker} was {rng.choice(GOOD_FEELINGS)}.",
        rng.choice([f'{cast.pronoun(taker).capitalize()} said, {say(f"Thank you, {giver}!")}',
                    f"{cast.pronoun(taker).capitalize()} put the {thing} in {cast.his_or_her(taker)} bag.",
                    f"{taker} liked the {colour} {thing} very much."]),
    ]


def lost_and_found(cast: Cast, rng: random.Random) -> list[str]:
    loser, finder = cast.both(rng)
    thing, he = cast.thing, cast.pronoun(loser)
    seat = rng.choice(HIDING_PLACES)
    return [
        f"{loser} lost {cast.his_or_her(loser)} {thing}.",
        f"{he.capitalize()} looked all over the {rng.choice(PLACES)}, but {he} could not find it.",
        f"{loser} was {rng.choice(BAD_FEELINGS)}.",
        f"Then {finder} found the {thing} under the {seat}.",
        f"{finder} gave the {thing} back to {loser}, and {loser} {rng.choice(MOVES)}.",
    ]


def animal_sits(cast: Cast, rng: random.Random) -> list[str]:
    kind, seat, pet, colour = rng.choice(ANIMALS), rng.choice(SEATS), cast.pet, rng.choice(COLOURS)
    return rng.choice([
        [f"The {kind} sat on the {seat}.", f"{cast.hero} saw the {kind} and {rng.choice(MOVES)}."],
        [f"{pet} sat on the {seat}.", f"The {cast.pet_kind} was {rng.choice(GOOD_FEELINGS + BAD_FEELINGS)}."],
        [f"{article(colour).capitalize()} {colour} {kind} sat on the {seat}.", f"{pet} looked at the {kind}.",
         f"Then the {kind} {rng.choice(MOVES)}."],
    ])


def walk(cast: Cast, rng: random.Random) -> list[str]:
    place, kind, food = rng.choice(PLACES), rng.choice(ANIMALS), rng.choice(FOODS)
    return [
        f"{cast.hero} and {cast.friend} went to the {place} with {cast.pet}.",
        f"It was a {rng.choice(WEATHER)} day.",
        f"At the {place}, they saw {article(kind)} {kind}.",
        f"The {kind} was {rng.choice(BAD_FEELINGS)}, so {cast.friend} gave it {article(food)} {food}.",
    ]


def task(cast: Cast, rng: random.Random) -> list[str]:
    doer, helper = cast.both(rng)
    want, did = rng.choice(ACTIONS)
    return [
        f"{doer} wanted to {want} the {cast.thing}.",
        f"{cast.pronoun(doer).capitalize()} asked {helper} for help.",
        f"Together they {did} the {cast.thing}, and {cast.pet} {rng.choice(MOVES)}.",
    ]


def secret_word(cast: Cast, rng: random.Random) -> list[str]:
    """A made-up word said twice: copying it from earlier in the story is the only way to know it."""
    teller, listener = cast.both(rng)
    word = made_up_word(rng, rng.choice((2, 3)))
    return [
        f"{teller} made up a new word: {word}.",
        f"{cast.pronoun(teller).capitalize()} said, {say(f'A {cast.thing} is a {word}.')}",
        f"{listener} laughed and said, {say(f'{word.capitalize()}, {word}!')}",
    ]


# -- repeats: the same words twice, in the same order ---------------------------------------------------
# A list can only be continued by looking back at what followed each item the first time: knowing which
# words the story holds is not enough. That is an induction head's job, so every story has one repeat.
def listing(items: list[str]) -> str:
    """'a ball, a cup and a hat'."""
    return ", ".join(items[:-1]) + " and " + items[-1]


def packing(cast: Cast, rng: random.Random) -> list[str]:
    packer = rng.choice((cast.hero, cast.friend))
    names = rng.sample(sorted(set(THINGS + FOODS)), rng.randint(3, 6))
    things = listing([f"{article(name)} {name}" for name in names])
    return [
        f"{packer} put {NUMBER_WORDS[len(names)]} things in {cast.his_or_her(packer)} bag: {things}.",
        f"At the {rng.choice(PLACES)}, {cast.pronoun(packer)} took them out again: {things}.",
    ]


def song(cast: Cast, rng: random.Random) -> list[str]:
    singer, listener = cast.both(rng)
    verse = ", ".join(f"{rng.choice(COLOURS)} {rng.choice(ANIMALS)}" for _ in range(rng.randint(3, 5)))
    return [f"{singer} sang a song: {say(verse.capitalize() + '.')}",
            f"{listener} sang it too: {say(verse.capitalize() + '.')}"]


def the_way(cast: Cast, rng: random.Random) -> list[str]:
    stops = listing([f"the {place}" for place in rng.sample(PLACES, rng.randint(3, 5))])
    return [f"{cast.hero} and {cast.pet} walked past {stops}.",
            f"The next day they went the same way, past {stops}."]


def magic_words(cast: Cast, rng: random.Random) -> list[str]:
    """Common words in a random order, said back: the induction detector's probe, inside a story."""
    teller, listener = cast.both(rng)
    words = " ".join(rng.sample(MAGIC_WORDS, rng.randint(5, 8)))
    return [f"{teller} said the magic words: {say(words.capitalize() + '.')}",
            f"{listener} said them back: {say(words.capitalize() + '.')}"]


def echo(cast: Cast, rng: random.Random) -> list[str]:
    """Random words, then the same words again, with no story around them.

    Inside a story a repeat can also be guessed from its frame ("said them back"); here the only clue is
    the earlier copy, for any word. (With a full stop and a capital between the copies, a model learned to
    copy only after that cue, and not the detectors' probe.) That is what grows a head that looks one token
    back and, above it, an induction head that works on any words (the detectors' probe), not only on a
    story's own lists.
    """
    words = " ".join(rng.sample(ECHO_WORDS, rng.randint(8, 20)))
    return [words, words]  # no full stop between them: nothing but the words says where the copy starts


def ending(cast: Cast, rng: random.Random) -> list[str]:
    return rng.choice([
        [f"At night, {cast.hero} and {cast.pet} went to sleep.", "It was a good day."],
        [f"{cast.hero} and {cast.friend} went home.", f"{cast.pet} was {rng.choice(BAD_FEELINGS)} but happy."],
        [f"In the end, {cast.hero} was {rng.choice(GOOD_FEELINGS)}.", "The end."],
    ])


MIDDLE_EPISODES = [meeting, gift, lost_and_found, animal_sits, walk, task, secret_word]
REPEAT_EPISODES = [packing, song, the_way]
MAGIC_WORDS = sorted(set(ANIMALS + PLACES + THINGS + SEATS + FOODS + COLOURS + SIZES))
# the little words the sentences above are built from, for the echo lines
LITTLE_WORDS = ["the", "and", "was", "said", "with", "to", "at", "in", "on", "then", "they", "he", "she", "his",
                "her", "him", "it", "saw", "gave", "went", "met", "had", "lost", "found", "looked", "but", "could",
                "not", "very", "all", "day", "so", "back", "under", "home", "good", "friends", "sat", "put", "liked",
                "wanted", "asked", "help", "together", "made", "new", "word", "song", "too", "magic", "words",
                "them", "things", "took", "out", "again", "past", "way", "same", "next", "lived", "near", "house",
                "time", "there", "night", "sleep", "end", "thank", "you", "hello", "much", "see", "about", "this",
                "over", "for", "of", "were", "is", "an", "a", "up", "once", "upon"]
# every word an echo line draws from: the lists, the names and the little words
ECHO_WORDS = sorted(set(MAGIC_WORDS + LITTLE_WORDS + list(PEOPLE) + ANIMALS + MOVES + GOOD_FEELINGS + BAD_FEELINGS
                        + WEATHER + [word for pair in ACTIONS for word in pair]))


# -- whole stories -----------------------------------------------------------------------------------------
def write_story(rng: random.Random) -> str:
    """One story: an opening, two or three episodes, magic words, a repeat and an echo in random order, an
    ending; each a line.

    Starting lines with different words matters to the tokenizer: a word at the start of a line has no
    space before it ("Anna", not " Anna"), so both forms of common words get tokens of their own.
    """
    cast = Cast(rng)
    middle = [*rng.sample(MIDDLE_EPISODES, rng.randint(2, 3)), magic_words, rng.choice(REPEAT_EPISODES), echo]
    rng.shuffle(middle)
    episodes = [opening, *middle, ending]
    return "\n".join(" ".join(episode(cast, rng)) for episode in episodes)


def generate_stories(n_stories: int, seed: int) -> str:
    """`n_stories` stories, separated by a blank line, the same text for the same seed."""
    if not isinstance(n_stories, int) or isinstance(n_stories, bool) or n_stories < 1:
        raise ValueError(f"The number of stories must be a whole number of at least 1, not {n_stories!r}.")
    rng = random.Random(seed)
    return "".join(write_story(rng) + "\n\n" for _ in range(n_stories))


def vocabulary_words() -> set[str]:
    """Every word the stories use, apart from made-up names and words (for tests and lessons)."""
    lists = [PEOPLE, ANIMALS, NUMBER_WORDS.values(), PLACES, THINGS, SEATS, FOODS, COLOURS, SIZES, GOOD_FEELINGS,
             BAD_FEELINGS, WEATHER, MOVES, [word for pair in ACTIONS for word in pair]]
    return {word for words in lists for word in words}
