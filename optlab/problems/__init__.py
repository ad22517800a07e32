"""Test problems: a network and the protocol it is trained with."""
