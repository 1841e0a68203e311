"""The model-size fields shared by the New-model dialog and the studio's set-up panel."""

from app.dialogs.model_sizes import CUSTOM, ModelSizeFields
from core.training.run_setup import RunSetup
from app.studio.setup_panel import SetupPanel
from PySide6.QtWidgets import QWidget


def test_preset_fills_sizes_and_hand_edit_turns_custom(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    fields = ModelSizeFields(owner)
    changes = []
    fields.changed.connect(lambda: changes.append(fields.sizes()))
    fields.preset_combo.setCurrentIndex(fields.preset_combo.findData("micro"))
    assert fields.sizes() == dict(n_layers=4, n_heads=4, d_model=128)
    assert len(changes) == 1  # one change for the whole preset, not one per size
    fields.layers_spin.setValue(3)
    assert fields.preset() == CUSTOM
    fields.layers_spin.setValue(4)  # back to micro's sizes exactly
    assert fields.preset() == "micro"


def test_studio_setup_round_trips_custom_sizes(qtbot):
    setup = RunSetup(model_preset=CUSTOM, n_layers=3, n_heads=4, d_model=48, pos_encoding="learned")
    panel = SetupPanel(setup)
    qtbot.addWidget(panel)
    read_back = panel.setup()
    assert (
        read_back.model_preset,
        read_back.n_layers,
        read_back.n_heads,
        read_back.d_model,
        read_back.pos_encoding,
    ) == (CUSTOM, 3, 4, 48, "learned")
    panel.model_sizes.heads_spin.setValue(5)  # 48 is not divisible by 5
    assert not panel.apply_button.isEnabled()
    assert "divisible" in panel.size_label.text()
