"""RASampler (PaddleClas's repeated augmentation) and the sampler section of a config."""

from collections import Counter

import pytest

from paddle_conv.config import load_config
from paddle_conv.data import RASampler, build_batch_sampler
from paddle_conv.errors import ConfigError, DataError, UnknownNameError
from tests.config.test_config import QUICK, write_config


class Sized:
    """A data set of ``n`` samples (samplers only need ``len``)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def test_each_sample_repeats_num_repeats_times_in_a_row_and_an_epoch_keeps_len_over_256_times_256():
    sampler = RASampler(Sized(520), batch_size=64, num_repeats=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 8 and all(len(b) == 64 for b in batches)
    flat = [i for b in batches for i in b]
    assert flat[:9] == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # unshuffled: each index num_repeats times
    counts = Counter(flat)
    assert len(flat) == 512 and set(counts.values()) == {3, 2} and counts[170] == 2 and 171 not in counts


def test_batches_of_the_last_part_follow_drop_last():
    assert [len(b) for b in RASampler(Sized(300), batch_size=100)] == [100, 100, 56]  # 256 selected
    assert len(RASampler(Sized(300), batch_size=100)) == 3
    kept = RASampler(Sized(300), batch_size=100, drop_last=True)
    assert [len(b) for b in kept] == [100, 100] and len(kept) == 2


def test_processes_are_dealt_the_repeated_list_round_robin():
    second = list(RASampler(Sized(512), batch_size=32, num_replicas=2, rank=1, num_repeats=3))
    assert second[0][:8] == [0, 1, 1, 2, 3, 3, 4, 5]  # [0,0,0,1,1,1,...][1::2]
    assert sum(len(b) for b in second) == 256  # 512 // 256 * 256 / 2


def test_shuffled_order_comes_from_the_epoch_and_copies_stay_together():
    first = RASampler(Sized(512), batch_size=64, shuffle=True, num_repeats=2)
    first.set_epoch(4)
    epoch4 = list(first)
    flat = [i for b in epoch4 for i in b]
    assert flat[:20] != sorted(flat[:20]) and all(flat[k] == flat[k + 1] for k in range(0, 512, 2))
    again = RASampler(Sized(512), batch_size=64, shuffle=True, num_repeats=2)
    again.set_epoch(4)
    assert list(again) == epoch4
    again.set_epoch(5)
    assert list(again) != epoch4


def test_a_data_set_too_small_for_one_batch_is_refused():
    with pytest.raises(DataError, match="len\\(dataset\\) // 256 \\* 256 = 0 of the 200 samples"):
        RASampler(Sized(200), batch_size=8)
    with pytest.raises(DataError, match="num_repeats"):
        RASampler(Sized(512), batch_size=8, num_repeats=0)


def test_config_section_and_build(tmp_path):
    def ra(cfg):
        cfg["DataLoader"]["Train"]["sampler"] = {"name": "RASampler", "batch_size": 64, "shuffle": True,
                                                 "drop_last": True}

    section = load_config(write_config(tmp_path, ra))["DataLoader"]["Train"]["sampler"]
    assert section == {"name": "RASampler", "batch_size": 64, "shuffle": True, "drop_last": True, "num_repeats": 3}
    sampler = build_batch_sampler(Sized(512), section, train=True)
    assert isinstance(sampler, RASampler) and sampler.shuffle and sampler.num_repeats == 3
    assert not build_batch_sampler(Sized(512), section, train=False).shuffle  # evaluation: in order
    with pytest.raises(ConfigError, match="sampler.num_repeats: must be >= 1"):
        load_config(QUICK, ["DataLoader.Train.sampler.name=RASampler", "DataLoader.Train.sampler.num_repeats=0"])
    with pytest.raises(UnknownNameError, match="sampler.name: .*unknown sampler 'RASampelr'.*RASampler"):
        load_config(QUICK, ["DataLoader.Train.sampler.name=RASampelr"])


def test_batch_sampler_reads_the_whole_data_set_in_an_order_drawn_from_the_epoch(tmp_path):
    """PaddleClas's older configs name paddle.io.BatchSampler: no shards, shuffled per epoch."""
    path = write_config(tmp_path, lambda cfg: cfg["DataLoader"]["Train"]["sampler"].update(name="BatchSampler"))
    section = load_config(path)["DataLoader"]["Train"]["sampler"]
    section.update(batch_size=8, shuffle=True, drop_last=False)
    sampler = build_batch_sampler(Sized(50), section, train=True)
    sampler.set_epoch(3)
    first = [i for batch in sampler for i in batch]
    sampler.set_epoch(3)
    assert sorted(first) == list(range(50)) and first == [i for batch in sampler for i in batch]
    assert first != list(range(50))
