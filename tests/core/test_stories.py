"""The story generator: the same stories for the same seed, a small vocabulary, a cast that recurs."""

import random
import re
from collections import Counter

import pytest

from core.training.corpora import BUILTIN_CORPORA, load_builtin
from core.training.stories import (
    ANIMALS,
    PEOPLE,
    POSSESSIVE,
    ECHO_WORDS,
    SEATS,
    generate_stories,
    vocabulary_words,
    write_story,
)

STORIES = generate_stories(300, seed=7).removesuffix("\n\n").split("\n\n")


def is_echo(line: str) -> bool:
    """A line that is random words, then the same words again."""
    half = len(line) // 2
    return line[:half] == line[half + 1 :] and line[half] == " "


# the stories without their echo lines, whose random words may hold any name or verb
TOLD = ["\n".join(line for line in story.split("\n") if not is_echo(line)) for story in STORIES]


def test_the_same_seed_gives_the_same_stories_and_another_seed_others():
    assert generate_stories(20, seed=3) == generate_stories(20, seed=3)
    assert generate_stories(20, seed=3) != generate_stories(20, seed=4)
    assert len(set(STORIES)) == len(STORIES)  # no story twice


def test_stories_are_separated_by_a_blank_line_and_each_line_is_whole_sentences():
    assert len(STORIES) == 300
    for story in STORIES:
        lines = story.split("\n")
        assert 7 <= len(lines) <= 8 and len(story) < 1500  # an opening, 5 or 6 episodes, an ending
        told = [line for line in lines if not is_echo(line)]
        assert all(line[0].isupper() and line.endswith((".", '."', '!"')) for line in told), story


def test_a_small_vocabulary_of_common_words_plus_made_up_names():
    stories_with = Counter(word for story in STORIES for word in set(re.findall(r"[A-Za-z]+", story)))
    known = {word for word in stories_with if word in vocabulary_words() or word.lower() in vocabulary_words()}
    assert 150 <= len(vocabulary_words()) <= 400
    assert len(known) >= 150  # every list word shows up in a few hundred stories
    # Besides the lists: a hundred or so little words ('the', 'gave', 'She'), each in many stories,
    # and made-up names, each in a story or two.
    others = {word: n for word, n in stories_with.items() if word not in known}
    little_words = [word for word, n in others.items() if n >= 15]
    assert 50 <= len(little_words) <= 120, sorted(little_words)
    assert sum(n <= 3 for n in others.values()) >= 200  # made-up names: new in nearly every story


def test_each_story_has_two_people_and_nearly_always_names_its_pet_again():
    pets_named_again = 0
    for story in TOLD:
        pet = re.search(r"called (\w+)|about \w+ and (\w+) the", story)  # every opening names the pet
        pet = pet.group(1) or pet.group(2)
        # a made-up pet name can happen to be a person's name ("Do" + "ra")
        people = {word for word in re.findall(r"[A-Z][a-z]+", story) if word in PEOPLE and word != pet}
        assert len(people) == 2, story  # so "Then Anna gave ..." can only be one of the two: copying pays
        pets_named_again += story.count(pet) >= 2
    assert pets_named_again >= 0.9 * len(STORIES)


def test_pronouns_refer_back_to_the_right_person():
    checked = 0
    for story in TOLD:
        for person, possessive in re.findall(r"([A-Z][a-z]+) lost (his|her) ", story):
            assert POSSESSIVE[PEOPLE[person]] == possessive
            checked += 1
        for person, pronoun in re.findall(r"([A-Z][a-z]+) lost \w+ \w+\. (He|She) looked", story):
            assert PEOPLE[person] == pronoun.lower()
    assert checked >= 50


def test_every_story_says_a_list_twice_in_the_same_order():
    for story in STORIES:
        lists = re.findall(r"(?:\w+ )?\w+(?:, (?:\w+ )?\w+)+ and (?:\w+ )?\w+|(?:\w+ \w+, ){2,}\w+ \w+", story)
        long_lists = [item for item in lists if item.count(",") >= 1]
        assert any(long_lists.count(item) >= 2 for item in long_lists), story


def test_every_story_has_magic_words_said_back_word_for_word():
    for story in STORIES:
        said, said_back = re.search(r'the magic words: "([^"]+)" \w+ said them back: "([^"]+)"', story).groups()
        assert said == said_back and 5 <= len(said.split()) <= 8
        assert len(set(said.lower().split())) == len(said.split())  # no word twice: one place to copy from


def test_every_story_has_one_echo_line_of_random_words_said_twice():
    for story in STORIES:
        echoes = [line for line in story.split("\n") if is_echo(line)]
        assert len(echoes) == 1, story
        words = echoes[0][: len(echoes[0]) // 2].split()
        assert 8 <= len(words) <= 20 and len(set(words)) == len(words)  # no word twice: one place to copy from
        assert set(words) <= set(ECHO_WORDS)  # and no full stop or capital that says where the copy starts


def test_an_and_a_agree_with_the_word_after_them():
    text = "\n".join(TOLD)
    assert not re.search(r"\ba [aeiou]", text) and not re.search(r"\ban [^aeiou\s]", text)


def test_animals_sit_on_things_to_sit_on():
    sits = re.findall(r"The (\w+) sat on the (\w+)\.", "\n".join(STORIES))
    assert len(sits) >= 20
    assert all(animal in ANIMALS and seat in SEATS for animal, seat in sits)


def test_a_story_is_written_from_the_random_generator_it_is_given():
    assert write_story(random.Random(5)) == write_story(random.Random(5))


def test_stories_is_a_built_in_corpus_of_the_asked_size():
    assert "stories" in BUILTIN_CORPORA
    assert load_builtin("stories", n_stories=12, seed=2) == generate_stories(12, seed=2)
    assert load_builtin("stories").count("\n\n") == 20000


@pytest.mark.parametrize("count", [0, -3, 2.5, True, "10"])
def test_a_count_that_is_not_a_positive_whole_number_is_refused(count):
    with pytest.raises(ValueError, match="number of stories"):
        generate_stories(count, seed=0)
