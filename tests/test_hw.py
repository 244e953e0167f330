"""Hardware configs: presets derive the depths the VTA spec gives, JSON loads and fails clearly."""

import json

import pytest

from canopy_mlir.hw import DEFAULT_CONFIG, PRESETS, ConfigError, HardwareConfig, load_config


def test_intelfocl_depths_match_vta():
    config = PRESETS["intelfocl"]
    assert config is DEFAULT_CONFIG
    assert (config.batch, config.block_in, config.block_out) == (1, 16, 16)
    assert config.depths() == {"UOP": 8192, "INP": 2048, "WGT": 1024, "ACC": 2048, "OUT": 2048}


def test_vitis_is_intelfocl_with_block_32():
    config = PRESETS["vitis"]
    assert (config.block_in, config.block_out) == (32, 32)
    # Same byte sizes as intelfocl, so depths shrink with the larger elements.
    assert config.depths() == {"UOP": 8192, "INP": 1024, "WGT": 256, "ACC": 1024, "OUT": 1024}


def test_element_sizes_and_alignment_follow_the_block_shape():
    config = PRESETS["tiny-b2"]
    assert config.inp_elem_bytes == 2 * 4
    assert config.wgt_elem_bytes == 8 * 4
    assert config.acc_elem_bytes == 2 * 8 * 4
    assert config.out_elem_bytes == 2 * 8
    assert config.pool_alignment == 64


def test_vta_json_round_trip(tmp_path):
    original = PRESETS["intelfocl"]
    path = tmp_path / "vta_config.json"
    path.write_text(json.dumps(original.to_vta_json()))
    assert load_config(path) == original


def test_loads_upstream_vta_json_with_build_keys():
    upstream = {
        "TARGET": "sim", "HW_VER": "0.0.2", "LOG_INP_WIDTH": 3, "LOG_WGT_WIDTH": 3,
        "LOG_ACC_WIDTH": 5, "LOG_BATCH": 0, "LOG_BLOCK": 4, "LOG_UOP_BUFF_SIZE": 15,
        "LOG_INP_BUFF_SIZE": 15, "LOG_WGT_BUFF_SIZE": 18, "LOG_ACC_BUFF_SIZE": 17,
    }
    config = HardwareConfig.from_vta_json(upstream)
    assert config.name == "sim"
    assert config.depths() == PRESETS["intelfocl"].depths()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"LOG_INP_WIDTH": 4}, "only int8 inputs"),
        ({"LOG_TYPO": 1}, "unknown hardware-config keys"),
        ({"LOG_BLOCK": 9}, "outside [0, 8]"),
        ({"LOG_INP_BUFF_SIZE": 2}, "INP buffer holds 0 elements"),
        ({"LOG_BATCH": "one"}, "must be a number"),
    ],
)
def test_bad_json_names_the_problem(change, message):
    data = PRESETS["intelfocl"].to_vta_json() | change
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        HardwareConfig.from_vta_json(data)


def test_missing_key_is_named():
    data = PRESETS["intelfocl"].to_vta_json()
    del data["LOG_ACC_BUFF_SIZE"]
    with pytest.raises(ConfigError, match="LOG_ACC_BUFF_SIZE"):
        HardwareConfig.from_vta_json(data)


def test_instruction_layout_overflow_is_a_config_error():
    # Huge buffers need wider factor fields than word 1 can hold.
    with pytest.raises(ConfigError, match="does not fit"):
        PRESETS["intelfocl"].with_changes(log_acc_buff_size=26, log_inp_buff_size=25)


def test_unknown_preset_or_file():
    with pytest.raises(ConfigError, match="neither a preset"):
        load_config("no-such-config")
